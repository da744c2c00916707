"""Leads in the console: a franchise's inbox, HQ's view of them all, and each lead's journey.

A franchise manager answers the leads offered to the franchise before their time runs out
(the SMS that announces one links to its page here): accept makes the order and opens it,
reject sends the lead on to the next candidate. HQ sees every lead, the ones it holds first,
and hands a held lead to the franchise it picks. Every answer goes through the services the
API calls (`lead_accept`, `lead_reject`, `lead_hand_on`); scope is the API's.
"""

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from clients.models import Lead, LeadHop
from clients.routing import (
    HELD_BY_HQ,
    SHORT,
    STAFFING_RADIUS_KM,
    Cause,
    Why,
    hop_reason_read,
    lead_hand_on,
    lead_reject,
    staffing_level,
)
from core import clock
from dispatch.selectors import lead_hops_answered, lead_journey, leads_listed, leads_waiting
from dispatch.services.leads import lead_accept
from franchises.models import Franchise
from franchises.scoping import scope_queryset

from .access import FRANCHISE, HQ, SignedInRequest, own_franchise, role_of, roles_required
from .form_fields import model_choice
from .local_time import local_time

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 50
# A franchise's own answers listed under its inbox: the last month's, at most this many.
ANSWERED_DAYS = 30
ANSWERED_LIMIT = 50

STATUS_LABELS: "dict[str, StrOrPromise]" = {
    Lead.Status.NEW: gettext_lazy("New (HQ holds it)"),
    Lead.Status.OFFERED: gettext_lazy("Offered"),
    Lead.Status.ACCEPTED: gettext_lazy("Accepted"),
    Lead.Status.REJECTED: gettext_lazy("Rejected by every candidate"),
    Lead.Status.EXPIRED: gettext_lazy("Expired"),
}
STATUS_BADGES: dict[str, str] = {
    Lead.Status.NEW: "warn",
    Lead.Status.OFFERED: "",
    Lead.Status.ACCEPTED: "ok",
    Lead.Status.REJECTED: "bad",
    Lead.Status.EXPIRED: "bad",
}
OUTCOME_LABELS: "dict[str, StrOrPromise]" = {
    LeadHop.Outcome.PENDING: gettext_lazy("Waiting for an answer"),
    LeadHop.Outcome.ACCEPTED: gettext_lazy("Accepted"),
    LeadHop.Outcome.REJECTED: gettext_lazy("Rejected"),
    LeadHop.Outcome.TIMED_OUT: gettext_lazy("Not answered in time"),
    LeadHop.Outcome.HANDED_ON: gettext_lazy("Handed on by HQ"),
}
OUTCOME_BADGES: dict[str, str] = {
    LeadHop.Outcome.PENDING: "warn",
    LeadHop.Outcome.ACCEPTED: "ok",
    LeadHop.Outcome.REJECTED: "bad",
    LeadHop.Outcome.TIMED_OUT: "bad",
    LeadHop.Outcome.HANDED_ON: "",
}


class LeadFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", gettext_lazy("Any status")), *Lead.Status.choices], required=False,
        label=gettext_lazy("Status"),
    )
    held = forms.BooleanField(required=False, label=gettext_lazy("Held by HQ only"))


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=200, label=gettext_lazy("Why not?"),
        help_text=gettext_lazy("HQ and the next franchise read it, e.g. no workers free that "
                               "morning."),
    )


class HandOnForm(forms.Form):
    franchise = forms.ModelChoiceField(
        queryset=Franchise.objects.none(), label=gettext_lazy("Franchise"),
        empty_label=gettext_lazy("Pick a franchise"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "franchise").queryset = (
            Franchise.objects.filter(is_active=True).exclude(kind=Franchise.Kind.HQ)
            .order_by("name")
        )


def _leads(request: HttpRequest) -> Any:
    return scope_queryset(Lead.objects.all(), request.user)


def _staffing_text(lead: Lead) -> str:
    """Whether enough suitable workers live near the lead's site, in the page's language."""
    reach = lead.workers_in_reach
    level = staffing_level(reach, lead.headcount)
    if level is None or reach is None:
        return ""
    figures = {"workers": reach, "km": f"{STAFFING_RADIUS_KM:.0f}",
               "places": lead.headcount}
    if level == SHORT:
        return ngettext(
            "Not enough: %(workers)s suitable worker within %(km)s km for %(places)s places.",
            "Not enough: %(workers)s suitable workers within %(km)s km for %(places)s places.",
            reach) % figures
    return ngettext(
        "Tight: %(workers)s suitable worker within %(km)s km for %(places)s places.",
        "Tight: %(workers)s suitable workers within %(km)s km for %(places)s places.",
        reach) % figures


def _dress(lead: Lead, hq_zone: str) -> Lead:
    """Attach what a lead's row shows: times in the holder's zone (HQ's while HQ holds it,
    as its start was read), the status's words, and the time left to answer."""
    zone = lead.franchise.timezone if lead.franchise is not None else hq_zone
    now = clock.now()
    lead.start_local = local_time(lead.start, zone)
    lead.created_local = local_time(lead.created_at, zone)
    lead.status_label = STATUS_LABELS.get(lead.status, lead.status)
    lead.status_badge = STATUS_BADGES.get(lead.status, "")
    lead.held_by_hq = lead.franchise_id is None and lead.status in HELD_BY_HQ
    lead.staffing_text = _staffing_text(lead)
    lead.respond_local = None
    if lead.status == Lead.Status.OFFERED and lead.respond_by:
        lead.respond_local = local_time(lead.respond_by, zone)
        left = max(0, int((lead.respond_by - now).total_seconds()))
        lead.time_left = f"{left // 60}:{left % 60:02d}"
    return lead


@roles_required(HQ, FRANCHISE)
def leads(request: SignedInRequest) -> HttpResponse:
    """The inbox of a franchise; every lead of the network for HQ."""
    hq_zone = Franchise.hq_timezone()
    context: dict[str, Any] = {"is_hq": role_of(request.user) == HQ}
    context.update(_top(request, hq_zone))
    if context["is_hq"]:
        form = LeadFilterForm(request.GET or None)
        status, held = "", False
        if form.is_valid():
            status, held = form.cleaned_data["status"], form.cleaned_data["held"]
        page = Paginator(leads_listed(_leads(request), status=status, held_by_hq=held),
                         PAGE_SIZE).get_page(request.GET.get("page"))
        for lead in page.object_list:
            _dress(lead, hq_zone)
        query = request.GET.copy()
        query.pop("page", None)
        context.update({"filter_form": form, "page": page, "query": query.urlencode()})
    else:
        since = clock.now() - timedelta(days=ANSWERED_DAYS)
        franchise = own_franchise(request.user)
        answered = lead_hops_answered(franchise_id=franchise.pk, since=since,
                                      limit=ANSWERED_LIMIT)
        zone = franchise.timezone
        for hop in answered:
            hop.answered_local = local_time(hop.answered_at, zone) if hop.answered_at else None
            hop.outcome_label = OUTCOME_LABELS.get(hop.outcome, hop.outcome)
            hop.outcome_badge = OUTCOME_BADGES.get(hop.outcome, "")
            hop.still_ours = hop.lead.franchise_id == request.user.franchise_id
        context["answered"] = answered
    return render(request, "web/leads.html", context)


@roles_required(HQ, FRANCHISE)
def leads_live(request: SignedInRequest) -> HttpResponse:
    """The polled top of the page: leads waiting for the franchise, or the ones HQ holds."""
    return render(request, "web/_leads_top.html",
                  {"is_hq": role_of(request.user) == HQ, **_top(request, Franchise.hq_timezone())})


def _top(request: HttpRequest, hq_zone: str) -> dict[str, Any]:
    if role_of(request.user) == HQ:
        held = list(leads_listed(_leads(request), held_by_hq=True)
                    .filter(status__in=HELD_BY_HQ)[:PAGE_SIZE])
        return {"held": [_dress(lead, hq_zone) for lead in held]}
    return {"waiting": [_dress(lead, hq_zone) for lead in leads_waiting(_leads(request))]}


@roles_required(HQ, FRANCHISE)
def lead_page(request: SignedInRequest, lead_id: int) -> HttpResponse:
    lead = get_object_or_404(_leads(request).select_related("franchise", "order"), pk=lead_id)
    return render(request, "web/lead.html", _lead_context(request, lead))


# Why a lead went where it went, in the reader's language (routing stores it in words,
# clients.routing.hop_reason_read takes them apart).
HOP_CAUSES: "dict[Cause, StrOrPromise]" = {
    Cause.NEW: gettext_lazy("new lead"),
    Cause.REJECTED: gettext_lazy("rejected"),
    Cause.EXPIRED: gettext_lazy("not accepted in time"),
}
HOP_WHYS: "dict[Why, StrOrPromise]" = {
    Why.SERVED_BEFORE: gettext_lazy("served this client before"),
    Why.OFFICIAL_OFFICE: gettext_lazy("official office for this territory"),
    Why.BRAND_FRANCHISE: gettext_lazy("brand franchise covering this point"),
    Why.NOBODY_LEFT: gettext_lazy("no other franchise left to ask"),
    Why.NOT_COVERED: gettext_lazy("no franchise covers this point"),
}


def hop_reason_shown(reason: str) -> str:
    """A hop's reason in the reader's language; a franchise's own words (why it rejected)
    and anything routing did not write are shown as they are."""
    parts = hop_reason_read(reason)
    if parts is None:
        return reason
    if parts.handed_by is not None:
        return _("handed on by HQ (%(name)s)") % {"name": parts.handed_by}
    if parts.cause is None or parts.why is None:
        return reason
    cause = str(HOP_CAUSES[parts.cause])
    if parts.said is not None:
        cause = _("%(cause)s (“%(said)s”)") % {"cause": cause, "said": parts.said}
    why = str(HOP_WHYS[parts.why])
    if parts.held_by_hq:
        return _("%(cause)s: %(why)s; HQ holds it") % {"cause": cause, "why": why}
    return _("%(cause)s: %(why)s") % {"cause": cause, "why": why}


def _lead_context(request: HttpRequest, lead: Lead, *, reject_form: RejectForm | None = None,
                  hand_on_form: HandOnForm | None = None) -> dict[str, Any]:
    hq_zone = Franchise.hq_timezone()
    _dress(lead, hq_zone)
    hops = lead_journey(lead)
    for hop in hops:
        zone = hop.franchise.timezone if hop.franchise is not None else hq_zone
        hop.offered_local = local_time(hop.offered_at, zone)
        hop.answered_local = local_time(hop.answered_at, zone) if hop.answered_at else None
        hop.outcome_label = OUTCOME_LABELS.get(hop.outcome, hop.outcome)
        hop.outcome_badge = OUTCOME_BADGES.get(hop.outcome, "")
        hop.reason_shown = hop_reason_shown(hop.reason)
        if hop.franchise_id is None and hop.outcome == LeadHop.Outcome.PENDING:
            hop.outcome_label = _("Held by HQ")  # nobody is asked: HQ hands it on
    is_hq = role_of(request.user) == HQ
    answerable = lead.status == Lead.Status.OFFERED and lead.franchise_id is not None
    return {
        "lead": lead,
        "hops": hops,
        "is_hq": is_hq,
        "order": getattr(lead, "order", None),
        "can_answer": answerable,
        "can_hand_on": is_hq and lead.held_by_hq,
        "reject_form": reject_form or RejectForm(),
        "hand_on_form": hand_on_form or HandOnForm(),
    }


def _scoped_lead(request: HttpRequest, lead_id: int) -> Lead:
    return get_object_or_404(_leads(request).select_related("franchise", "order"), pk=lead_id)


@require_POST
@roles_required(HQ, FRANCHISE)
def lead_accept_view(request: SignedInRequest, lead_id: int) -> HttpResponse:
    """Accept: the order is made (a second accept makes none) and its page opens."""
    lead = _scoped_lead(request, lead_id)
    try:
        order = lead_accept(lead=lead, user=request.user)
    except ValidationError as exc:
        messages.error(request, _("Lead #%(id)s not accepted: %(reason)s") % {
            "id": lead.pk, "reason": " ".join(exc.messages)})
        return redirect("web:lead", lead_id=lead.pk)
    messages.success(request, _(
        "Lead #%(id)s accepted: order %(code)s is placed as a draft; start the call-out "
        "when it suits.") % {"id": lead.pk, "code": order.code})
    return redirect("web:order", order_id=order.pk)


@require_POST
@roles_required(HQ, FRANCHISE)
def lead_reject_view(request: SignedInRequest, lead_id: int) -> HttpResponse:
    """Reject with a reason: the lead goes to the next candidate (HQ if none is left)."""
    lead = _scoped_lead(request, lead_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            lead_reject(lead=lead, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            # The lead moved on meanwhile (accepted, timed out): the reason is not at fault.
            messages.error(request, _("Lead #%(id)s not rejected: %(reason)s") % {
                "id": lead.pk, "reason": " ".join(exc.messages)})
            return redirect("web:lead", lead_id=lead.pk)
        else:
            messages.success(request, _("Lead #%(id)s rejected; it goes on to the next "
                                        "candidate.") % {"id": lead.pk})
            return redirect("web:leads")
    return render(request, "web/lead.html", _lead_context(request, lead, reject_form=form))


@require_POST
@roles_required(HQ)
def lead_hand_on_view(request: SignedInRequest, lead_id: int) -> HttpResponse:
    """HQ hands a lead it holds to the franchise it picks, which then answers as usual."""
    lead = _scoped_lead(request, lead_id)
    form = HandOnForm(request.POST)
    if form.is_valid():
        try:
            lead = lead_hand_on(lead=lead, franchise=form.cleaned_data["franchise"],
                                user=request.user)
        except ValidationError as exc:
            if "franchise" in exc.message_dict:  # the pick is at fault: say so by the field
                form.add_error("franchise", exc.message_dict["franchise"])
                return render(request, "web/lead.html",
                              _lead_context(request, lead, hand_on_form=form))
            messages.error(request, _("Lead #%(id)s not handed on: %(reason)s") % {
                "id": lead.pk, "reason": " ".join(exc.messages)})
            return redirect("web:lead", lead_id=lead.pk)
        else:
            messages.success(request, _("Lead #%(id)s handed on to %(franchise)s.") % {
                "id": lead.pk, "franchise": form.cleaned_data["franchise"].name})
            return redirect("web:lead", lead_id=lead.pk)
    return render(request, "web/lead.html", _lead_context(request, lead, hand_on_form=form))
