"""Server-rendered pages for operators, franchisees, foremen and recruiters."""

from typing import Any
from urllib.parse import urlencode

import markdown
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clients.services import address_geocode
from dispatch.models import Offer
from dispatch.selectors import order_invitees
from franchises.models import Franchise
from messaging.models import Message
from messaging.services import inbound_receive, normalise_phone
from ratings.rules import explain
from ratings.services import rating_params
from workers.services import worker_create

from .access import FRANCHISE, HQ, LANDING, RECRUITER, SignedInRequest, role_of, roles_required
from .forms import IntakeForm, address_errors
from .local_time import local_time


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    """Each role starts where its work is."""
    return redirect(LANDING[role_of(request.user)])


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the pages' language; a logged-in user keeps the choice on their login."""
    code = request.POST.get("language", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    response = redirect(target)
    if code not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        request.user.language = code
        request.user.save(update_fields=["language"])
    translation.activate(code)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, samesite="Lax",
                        max_age=365 * 24 * 3600)
    return response


@login_required
def rating_rules(request: HttpRequest) -> HttpResponse:
    """The published rating formula, with a worked example computed by the live parameters."""

    # The text is the module's own, never user input: safe to render as HTML.
    html = markdown.markdown(explain(rating_params(), get_language() or "en"),
                             extensions=["tables"])
    return render(request, "web/rating_rules.html", {"html": mark_safe(html)})


def _home_point(form: IntakeForm) -> tuple[float | None, float | None] | None:
    """Where the applicant lives: the phone's location when the recruiter took it, else the
    home area placed by the geocoding service. None, with an error next to the home area,
    when it cannot be placed and the recruiter has not chosen to save without a home point:
    an applicant without one is never offered work, so that must not happen unnoticed."""
    data = form.cleaned_data
    if form.has_point():
        return data["lat"], data["lng"]
    area = data.get("home_area")
    without = data.get("no_home_point")
    hint = _("Correct it, use your location, or tick “Save without a home point”.")
    if not area:
        if without:
            return None, None
        form.add_error("home_area", _("Type where the applicant lives (district or street), "
                                      "or tick “Save without a home point”."))
        return None
    try:
        point = address_geocode(address=area)
    except ValidationError as exc:  # not found, or the geocoder is down
        if without:
            return None, None
        form.add_error("home_area", [*address_errors(exc), hint])
        return None
    return point.lat, point.lng


@roles_required(HQ, FRANCHISE, RECRUITER)
def intake(request: SignedInRequest) -> HttpResponse:
    """The recruiter's intake form: an applicant, interviewed later, never sent to a client
    before the interview passes."""
    form = IntakeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        home = _home_point(form)
        if home is not None:
            worker = _applicant_added(form, *home, created_by=request.user)
            if worker is not None:
                profile = reverse("web:worker", args=[worker.pk])
                if worker.lat is None:
                    text = _("%(name)s added as an applicant (#%(id)s), without a home point.")
                else:
                    text = _("%(name)s added as an applicant (#%(id)s).")
                messages.success(request, format_html(
                    '<a href="{}" id="added-worker">{}</a>', profile,
                    text % {"name": worker.name, "id": worker.pk},
                ))
                return redirect("web:intake")
    return render(request, "web/intake.html", {"form": form})


class PhoneReplyForm(forms.Form):
    """A text typed on the built-in phone, as the worker would send it."""

    phone = forms.CharField(max_length=64, widget=forms.HiddenInput)
    order = forms.CharField(max_length=5, required=False, widget=forms.HiddenInput)
    body = forms.CharField(
        max_length=1600, label=gettext_lazy("Reply as this phone"),
        error_messages={"required": gettext_lazy("Type a text to send: an empty one is not "
                                                 "sent.")},
    )
def _applicant_added(form: IntakeForm, lat: float | None, lng: float | None,
                     created_by: Any) -> Any:
    """The new applicant, or None with the service's refusal next to its fields."""
    data = form.cleaned_data
    try:
        return worker_create(
            name=data["name"], phone=data["phone"], skills=data["skills"], lat=lat, lng=lng,
            language=data["language"], home_area=data["home_area"], notes=data["notes"],
            photo=data.get("photo"), created_by=created_by,
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None


@roles_required(HQ)
def phone_simulator(request: SignedInRequest) -> HttpResponse:
    """The built-in phone: read what a number was sent, and text back as that number.

    With the simulator SMS backend nothing leaves the machine; this page is the worker's
    phone. Replies go through the same path as a real inbound SMS (grammar, handlers). An
    order's code lists the workers it offered, to switch between their phones.
    """

    source = request.POST if request.method == "POST" else request.GET
    phone = normalise_phone(source.get("phone") or "")
    code = (source.get("order") or "").strip().upper()
    form = PhoneReplyForm(request.POST or None, initial={"phone": phone, "order": code})
    if request.method == "POST" and phone and form.is_valid():
        inbound_receive(provider_sid=None, sender=phone, body=form.cleaned_data["body"])
        query = {"phone": phone, **({"order": code} if code else {})}
        return redirect(f"{request.path}?{urlencode(query)}")
    invitees: list[Offer] = []
    order, order_error = None, ""
    if code:
        order, invitees = order_invitees(code=code)
        if order is None:
            order_error = _("No order has the code %(code)s.") % {"code": code}
    thread = list(
        Message.objects.filter(phone=phone).select_related("order__franchise")
        .order_by("-created_at", "-id")[:50] if phone else []
    )
    # A text about an order reads in its franchise's time; any other in HQ's.
    hq_zone = Franchise.hq_timezone()
    for message in thread:
        zone = message.order.franchise.timezone if message.order else hq_zone
        message.local = local_time(message.created_at, zone)
    recent = (
        Message.objects.filter(direction="out").order_by("-created_at", "-id")
        .values_list("phone", flat=True)[:200]
    )
    numbers = list(dict.fromkeys(recent))[:20]
    return render(request, "web/phone.html", {
        "phone": phone, "thread": thread, "numbers": numbers, "form": form,
        "code": code, "order": order, "invitees": invitees, "order_error": order_error,
    })
