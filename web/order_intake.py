"""Order intake for the call centre: a caller's order placed in one form, in under a minute.

The operator types the caller's phone; matching clients appear as it is typed (htmx), and
picking one brings its franchise and its sites, the last ordered for first. A new caller is
created in the same form, client and site. Before placing, the form shows where the address
was found and how many suitable workers live near it, and the price from the franchise's
rate card; the start is typed in the serving franchise's local time, its zone shown by the
field. Then one button places the order and starts the call-out, another hands the request
to the network as a lead.

Every write is a service (`client_create`, `site_create`, `order_place`, `callout_start`,
`lead_create`), all in one transaction: a refusal anywhere leaves nothing half-created, and
comes back as a message next to the field it concerns, with everything typed kept.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.fields import BaseTemporalField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.pricing import Quote
from billing.services import rate_quote
from clients.models import Client, Conditions, Lead, Site, WorkType
from clients.routing import STAFFING_RADIUS_KM
from clients.selectors import (
    Place,
    address_place,
    client_sites,
    clients_matching,
    serving_franchise,
)
from clients.services import client_create, lead_create, may_post_leads, site_create
from core import clock
from core.geo import GeoPoint
from dispatch.models import Order
from dispatch.selectors import orders_with_counts
from dispatch.services import callout_start, order_place
from franchises.models import Franchise
from franchises.scoping import scope_queryset
from workers.selectors import suitable_workers_in_reach

from .access import FRANCHISE, HQ, SignedInRequest, roles_required
from .form_fields import model_choice
from .forms import HoursField, address_errors
from .leads import hop_reason_shown
from .local_time import local_time
from .once import new_form_key, once

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from dispatch.selectors import OrderWithCounts


def reach_radii() -> tuple[float, float]:
    """The radii the desk counts suitable workers in: the first call-out wave's, and the
    reach a lead's staffing figure is counted in."""
    return float(settings.DISPATCH["WAVE_RADII_KM"][0]), STAFFING_RADIUS_KM


class LocalStartField(forms.DateTimeField):
    """A start as typed in a `datetime-local` field: the serving franchise's wall-clock time,
    kept naive. Django would make it aware in the page's zone (HQ's, for an operator), which
    is not the zone of a Novosibirsk order; the services read a naive start in the serving
    franchise's own zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            # Other spellings ("2030-03-11 09:00") through the field's input formats; they
            # give a naive datetime too (the zone is only added by Django's to_python).
            return BaseTemporalField.to_python(self, value)
        return parsed


# The vocabularies' words as the desk shows them (the values are the models').
WORK_LABELS: "dict[str, StrOrPromise]" = {
    WorkType.LOADING: gettext_lazy("Loading"),
    WorkType.MOVING: gettext_lazy("Moving"),
    WorkType.SNOW_CLEARING: gettext_lazy("Snow clearing"),
    WorkType.ROOFING: gettext_lazy("Roofing"),
    WorkType.CLEANING: gettext_lazy("Cleaning"),
    WorkType.GENERAL: gettext_lazy("General labour"),
}
CONDITION_LABELS: "dict[str, StrOrPromise]" = {
    Conditions.WARM_INDOOR: gettext_lazy("Warm indoor"),
    Conditions.COLD_INDOOR: gettext_lazy("Cold indoor"),
    Conditions.OUTDOOR: gettext_lazy("Outdoor"),
    Conditions.HEAVY: gettext_lazy("Heavy"),
}
POLICY_LABELS: "dict[str, StrOrPromise]" = {
    Order.Policy.FIXED: gettext_lazy("Fixed ratio (15 for 10)"),
    Order.Policy.ADAPTIVE: gettext_lazy("Adaptive (from reliabilities)"),
}


def _choices(values: Any, labels: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(value, labels.get(value, label)) for value, label in values.choices]


# What the live parts send: every field of the form but the CSRF token (a GET puts them in
# the address, and the token has no business there).
INCLUDE = "#intake-form [name]:not([name=csrfmiddlewaretoken])"

# Where a service's refusal is shown: its field's name on this form.
SERVICE_FIELDS = {"name": "client_name", "lat": "address", "lng": "address", "point": "address"}


class OrderIntakeForm(forms.Form):
    phone = forms.CharField(
        max_length=40, required=False, label=gettext_lazy("Caller's phone"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "autofocus": True,
                                      "inputmode": "tel"}),
    )
    client_name = forms.CharField(
        max_length=200, required=False, label=gettext_lazy("Client name"),
        help_text=gettext_lazy("Finds clients by name too; a new client is created with it."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False,
                                    widget=forms.RadioSelect, label=gettext_lazy("Client"))
    franchise = forms.ModelChoiceField(
        queryset=Franchise.objects.none(), required=False, label=gettext_lazy("Franchise"),
        empty_label=gettext_lazy("By territory"),
    )
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False,
                                  widget=forms.RadioSelect, label=gettext_lazy("Site"))
    address = forms.CharField(
        max_length=300, required=False, label=gettext_lazy("Address"),
        help_text=gettext_lazy("Street and house, district or town; or \"lat, lng\"."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    conditions = forms.ChoiceField(choices=_choices(Conditions, CONDITION_LABELS),
                                   initial=Conditions.WARM_INDOOR,
                                   label=gettext_lazy("Conditions"))
    work_type = forms.ChoiceField(choices=_choices(WorkType, WORK_LABELS),
                                  initial=WorkType.LOADING,
                                  label=gettext_lazy("Work"))
    headcount = forms.IntegerField(min_value=1, max_value=500, label=gettext_lazy("Workers"),
                                   widget=forms.NumberInput(attrs={"class": "quote-term"}))
    start = LocalStartField(label=gettext_lazy("Start"),
                            widget=forms.DateTimeInput(
                                attrs={"type": "datetime-local", "class": "quote-term"},
                                format="%Y-%m-%dT%H:%M"))
    hours = HoursField(max_digits=4, decimal_places=1, min_value=Decimal("0.5"),
                       max_value=Decimal(24), label=gettext_lazy("Hours"),
                       widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                     "class": "quote-term"}))
    overbook_policy = forms.ChoiceField(choices=_choices(Order.Policy, POLICY_LABELS),
                                        initial=Order.Policy.FIXED,
                                        label=gettext_lazy("Overbooking"))
    notes = forms.CharField(required=False, label=gettext_lazy("Notes"),
                            widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # The clients the caller may pick, and search among by phone or name.
        self.clients = scope_queryset(Client.objects.select_related("franchise"), user)
        model_choice(self, "client").queryset = self.clients
        model_choice(self, "site").queryset = scope_queryset(Site.objects.all(), user)
        if user.is_hq:
            model_choice(self, "franchise").queryset = (
                Franchise.objects.exclude(kind=Franchise.Kind.HQ).filter(is_active=True)
                .order_by("name"))
        else:
            del self.fields["franchise"]  # a franchise serves its own orders
        lookup = {
            "hx-get": reverse("web:intake-order-client"),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": "#client-panel",
            "hx-include": INCLUDE,
        }
        self.fields["phone"].widget.attrs.update(lookup)
        self.fields["client_name"].widget.attrs.update(lookup)

    def clean_phone(self) -> str:
        """The caller's number in E.164, or '' when none was typed."""
        text = self.cleaned_data.get("phone", "").strip()
        if not text:
            return ""
        try:
            number = phonenumbers.parse(text, settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValidationError(_("Enter a valid phone number, e.g. 8 812 555-01-01."))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        client, site = data.get("client"), data.get("site")
        if site is not None and client is not None and site.client_id != client.pk:
            self.add_error("site", _("This site belongs to another client."))
        if site is None and not (data.get("address") or "").strip() and "address" in data:
            self.add_error("address", _("Pick a site or give the address of a new one."))
        return data


def order_url(order: Order) -> str:
    """The order's page; the board of its day where the console has none."""
    try:
        return reverse("web:order", args=[order.pk])
    except NoReverseMatch:
        day = local_time(order.start, order.franchise.timezone).local_date
        return f"{reverse('web:board')}?day={day.isoformat()}"


@dataclass
class Serving:
    """Who will serve the order, and why the form thinks so."""

    franchise: Franchise | None
    reason: str
    by_territory: bool = False

    @property
    def zone(self) -> str:
        if self.franchise is None:
            return ""
        return local_time(clock.now(), self.franchise.timezone).zone


def _serving(form: OrderIntakeForm, point: Any = None) -> Serving:
    """The franchise the order goes to: a franchise login's own; the picked client's; the
    one HQ chose; else the one the lead routing would pick for this caller and point."""
    user = form.user
    data = form.cleaned_data
    if not user.is_hq:
        return Serving(user.franchise, _("your franchise"))
    client = data.get("client")
    if client is not None and client.franchise is not None:
        return Serving(client.franchise, _("the client's franchise"))
    if data.get("franchise") is not None:
        return Serving(data["franchise"], _("chosen"))
    if point is not None:
        found = serving_franchise(phone=data.get("phone") or None, lat=point.lat, lng=point.lng)
        if found is not None:
            return Serving(found, _("by territory"), by_territory=True)
    return Serving(None, "")


def _point(form: OrderIntakeForm) -> tuple[Place | None, str]:
    """Where the work is: the picked site, else the address geocoded; or why it cannot be
    placed."""
    data = form.cleaned_data
    site = data.get("site")
    if site is not None:
        return Place(point=GeoPoint(site.lat, site.lng), name=site.address), ""
    # A refused address is out of the cleaned data, but the preview still says why.
    address = (data.get("address") or form.data.get("address") or "").strip()
    if not address:
        return None, ""
    try:
        return address_place(address=address), ""
    except ValidationError as exc:
        return None, " ".join(address_errors(exc))


def _reach(place: Place | None, work_type: str | None) -> list[tuple[float, int]]:
    if place is None or not work_type:
        return []
    return [
        (radius, suitable_workers_in_reach(lat=place.point.lat, lng=place.point.lng,
                                           radius_km=radius, work_type=work_type))
        for radius in reach_radii()
    ]


def _quote(form: OrderIntakeForm, serving: Serving) -> tuple[Quote | None, str]:
    data = form.cleaned_data
    terms = ("work_type", "headcount", "start", "hours")
    if serving.franchise is None or any(data.get(term) is None for term in terms):
        return None, ""
    site = data.get("site")
    conditions = site.conditions if site is not None else data.get("conditions")
    if not conditions:
        return None, ""
    try:
        quote = rate_quote(
            franchise=serving.franchise, work_type=data["work_type"], conditions=conditions,
            headcount=data["headcount"], hours=data["hours"], start=data["start"],
        )
    except ValidationError as exc:
        return None, " ".join(exc.messages)
    return quote, ""


def quote_lines(quote: Quote) -> list[str]:
    """How the rate card arrived at the price, step by step, in the page's language."""
    lines = []
    for kind, figures in quote.parts:
        shown = {name: formats.localize(value) for name, value in figures.items()}
        if kind == "base":
            lines.append(_("base %(bill)s/h bill, %(pay)s/h pay") % shown)
        elif kind == "conditions":
            label = str(CONDITION_LABELS.get(figures["conditions"], figures["conditions"]))
            lines.append(_("%(conditions)s x%(factor)s") % {**shown, "conditions": label.lower()})
        elif kind == "night":
            lines.append(_("night x%(factor)s") % shown)
        elif kind == "weekend":
            lines.append(_("weekend x%(factor)s") % shown)
        elif kind == "crew":
            lines.append(_("crew of %(minimum)s+ x%(factor)s") % shown)
        elif kind == "minimum_hours":
            lines.append(_("minimum %(hours)s h billed") % shown)
    return lines


def _read(request: HttpRequest) -> OrderIntakeForm:
    """The form as typed so far (the fragments are asked with everything in it)."""
    form = OrderIntakeForm(request.GET, user=request.user)
    form.is_valid()  # only to clean what can be; the fragments read the fields that are valid
    return form


def _client_panel(form: OrderIntakeForm) -> dict[str, Any]:
    data = form.cleaned_data
    client = data.get("client")
    typed_phone = form.data.get("phone", "")
    matches = clients_matching(form.clients, typed_phone,
                               name=form.data.get("client_name", ""))
    if client is not None and client not in matches:
        matches.insert(0, client)  # a pick is never lost to a change of what is typed
    sites = client_sites(client) if client is not None else []
    for site in sites:
        site.conditions_label = CONDITION_LABELS.get(site.conditions, site.conditions)
    chosen = data.get("site")
    if client is None:
        chosen = None
    elif (chosen is None and form.data.get("site", None) != "") or (
            chosen is not None and chosen.client_id != client.pk):
        # A client just picked, or picked instead of another (whose site the form still
        # names): the site last ordered for, a repeat caller's usual place. "New site"
        # chosen on purpose stays chosen.
        chosen = sites[0] if sites else None
    serving = _serving(form)
    return {
        "form": form, "client": client, "matches": matches, "sites": sites,
        "chosen_site": chosen, "serving": serving,
        "needs_franchise": form.user.is_hq and (client is None or client.franchise is None),
        "searched": bool(typed_phone.strip() or form.data.get("client_name", "").strip()),
    }


def _place_panel(form: OrderIntakeForm) -> dict[str, Any]:
    place, error = _point(form)
    serving = _serving(form, place.point if place else None)
    return {"place": place, "place_error": error, "serving": serving,
            "reach": _reach(place, form.cleaned_data.get("work_type"))}


def _quote_panel(form: OrderIntakeForm) -> dict[str, Any]:
    serving = _serving(form)
    if serving.franchise is None:  # HQ's new caller: the territory decides
        place, _error = _point(form)
        serving = _serving(form, place.point if place else None)
    quote, error = _quote(form, serving)
    return {"quote": quote, "quote_lines": quote_lines(quote) if quote else [],
            "quote_error": error, "serving": serving}


@roles_required(HQ, FRANCHISE)
def intake_order_client(request: SignedInRequest) -> HttpResponse:
    """Clients matching the phone (or name) typed so far; the picked one's sites."""
    form = _read(request)
    return render(request, "web/_intake_order_client.html", {**_client_panel(form), "oob": True})


@roles_required(HQ, FRANCHISE)
def intake_order_place(request: SignedInRequest) -> HttpResponse:
    """Where the address was found, and the suitable workers within reach of it."""
    form = _read(request)
    return render(request, "web/_intake_order_place.html", {**_place_panel(form), "oob": True})


@roles_required(HQ, FRANCHISE)
def intake_order_quote(request: SignedInRequest) -> HttpResponse:
    """The price from the serving franchise's rate card, for the terms typed so far."""
    form = _read(request)
    return render(request, "web/_intake_order_quote.html", _quote_panel(form))


def _map_errors(form: OrderIntakeForm, exc: ValidationError) -> None:
    """A service's refusal, each message next to the field it concerns."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        name = SERVICE_FIELDS.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


def _new_site_point(form: OrderIntakeForm) -> Place:
    place, error = _point(form)
    if place is None:
        raise ValidationError({"address": [error or _("Give the address of the site.")]})
    return place


def _place_order(request: HttpRequest, form: OrderIntakeForm) -> "OrderWithCounts | None":
    """Client, site and order as one transaction, and the call-out started; None (and
    nothing written) when any service refuses."""
    data = form.cleaned_data
    user = request.user
    try:
        with transaction.atomic():
            place = None if data.get("site") else _new_site_point(form)
            serving = _serving(form, place.point if place else None)
            client = data.get("client")
            if client is None:
                if not data.get("client_name", "").strip():
                    raise ValidationError(
                        {"client_name": [_("Pick a client above, or name a new one.")]})
                if serving.franchise is None:
                    raise ValidationError({"franchise": [_(
                        "No franchise covers this point: choose the one that will serve "
                        "this client.")]})
                client = client_create(name=data["client_name"].strip(),
                                       franchise=serving.franchise, phone=data.get("phone", ""))
            if place is None:
                site: Site = data["site"]  # one of the client's sites, picked
            else:  # no site picked: a new one at the place typed
                site = site_create(client=client, address=data["address"].strip(),
                                   lat=place.point.lat, lng=place.point.lng,
                                   conditions=data["conditions"])
            order = order_place(
                client=client, site=site, franchise=serving.franchise,
                work_type=data["work_type"], headcount=data["headcount"], start=data["start"],
                hours=data["hours"], overbook_policy=data["overbook_policy"],
                notes=data.get("notes", ""), created_by=user,
            )
            callout_start(order=order)
    except ValidationError as exc:
        _map_errors(form, exc)
        return None
    return orders_with_counts(
        Order.objects.filter(pk=order.pk).select_related("client", "franchise")).get()


def _hand_on_as_lead(request: HttpRequest, form: OrderIntakeForm) -> Lead | None:
    """The request handed to the network: routed like any call-centre lead."""
    data = form.cleaned_data
    client, site = data.get("client"), data.get("site")
    name = (data.get("client_name") or "").strip() or (client.name if client else "")
    phone = data.get("phone") or (str(client.phone) if client and client.phone else "")
    errors = {}
    if not name:
        errors["client_name"] = [_("Name the caller, or pick a client above.")]
    if not phone:
        errors["phone"] = [_("A lead needs the caller's phone.")]
    try:
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            if site is not None:
                address, lat, lng = site.address, site.lat, site.lng
            else:
                place = _new_site_point(form)
                address, lat, lng = data["address"].strip(), place.point.lat, place.point.lng
            # The start was typed in the zone shown by the field, the zone of the franchise
            # the form named when it named one; the routing picks the same franchise unless
            # it is unavailable, and reads a naive start in the zone of the one it picks.
            serving = _serving(form, GeoPoint(lat, lng))
            start = data["start"]
            if serving.franchise is not None:
                start = serving.franchise.local_moment(start)
            return lead_create(
                contact_name=name, phone=phone, address=address, lat=lat, lng=lng,
                work_type=data["work_type"], headcount=data["headcount"], start=start,
                hours=data["hours"], notes=data.get("notes", ""), created_by=request.user,
            )
    except ValidationError as exc:
        _map_errors(form, exc)
        return None
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return None


def _lead_message(lead: Lead) -> str:
    hop = lead.hops.order_by("-offered_at", "-id").first()
    reason = hop_reason_shown(hop.reason) if hop is not None else ""
    if lead.franchise is None:
        return _("Lead #%(id)s: HQ holds it (%(reason)s).") % {"id": lead.pk, "reason": reason}
    return _("Lead #%(id)s handed to %(franchise)s (%(reason)s); it has %(minutes)s minutes "
             "to accept.") % {"id": lead.pk, "franchise": lead.franchise.name,
                              "reason": reason, "minutes": settings.LEAD_SLA_MINUTES}


@dataclass(frozen=True)
class IntakeDone:
    """What one post of the order form made: where to go next, what to say, and a short name
    of it for a second post of the same form."""

    url: str
    message: str
    what: str


def _intake_write(request: HttpRequest, form: OrderIntakeForm) -> IntakeDone | None:
    """Place the order (and call out) or hand the request on as a lead; None with the
    refusals on the form."""
    if request.POST.get("action") == "lead":
        lead = _hand_on_as_lead(request, form)
        if lead is None:
            return None
        return IntakeDone(url=reverse("web:intake-order"), message=_lead_message(lead),
                          what=_("lead #%(id)s") % {"id": lead.pk})
    order = _place_order(request, form)
    if order is None:
        return None
    start = local_time(order.start, order.franchise.timezone)
    message = _("Order %(code)s placed for %(client)s, %(start)s; call-out started: "
                "%(sent)s offers sent.") % {
        "code": order.code, "client": order.client.name, "start": start,
        "sent": order.count_invited}
    return IntakeDone(url=order_url(order), message=message,
                      what=_("order %(code)s") % {"code": order.code})


@roles_required(HQ, FRANCHISE)
def intake_order(request: SignedInRequest) -> HttpResponse:
    """The operator's order form: find or create the client, place the order and call out,
    or hand the request on as a lead."""
    form = OrderIntakeForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "lead" and not may_post_leads(request.user):
            form.add_error(None, _("Only HQ and the official offices hand requests to the "
                                   "network as leads; place the order yourself."))
            status = 403
        else:
            with once(request, scope="orders/new") as claim:
                if claim is not None and claim.replay is not None:
                    # The same render sent again (a double click): what the first one made.
                    messages.info(request, _("This form was already sent: %(what)s was made "
                                             "once.") % {"what": claim.replay[1]["what"]})
                    return redirect(claim.replay[1]["url"])
                done = _intake_write(request, form)
                if done is not None and claim is not None:
                    claim.record(200, {"url": done.url, "what": done.what})
            if done is not None:
                messages.success(request, done.message)
                return redirect(done.url)
    context: dict[str, Any] = {"form": form, "include": INCLUDE,
                               "may_post_leads": may_post_leads(request.user),
                               "form_key": new_form_key()}
    if form.is_bound:
        # What was typed stays, and so do the panels it filled.
        context.update(_client_panel(form))
        context.update(_quote_panel(form))
        context.update(_place_panel(form))
    else:
        serving = (Serving(request.user.franchise, _("your franchise"))
                   if not request.user.is_hq else Serving(None, ""))
        context.update({"matches": [], "sites": [], "serving": serving,
                        "needs_franchise": request.user.is_hq, "searched": False})
    return render(request, "web/intake_order.html", context, status=status)
