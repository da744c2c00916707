"""One order's page: what was ordered, how the call-out went and goes, every offer and text,
attendance, and what was billed and paid.

The live part (counts, timeline, offers, messages) is a fragment the page polls while the
order is open, so answers by SMS show without a reload. Actions go through the services the
API's order actions call (`callout_start`, `assignment_run`, `wave_next`, `order_cancel`,
`order_complete`); a refusal comes back as a message on the page. Cancelling first says how
many workers will be texted, and only a second POST cancels.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from billing.selectors import order_books, order_lines
from core import clock
from dispatch.models import Offer, Order, Step
from dispatch.selectors import (
    Moment,
    TimelineEntry,
    order_messages,
    order_offers,
    order_timeline,
    orders_with_counts,
)
from dispatch.services import assignment_run, callout_start, wave_next
from dispatch.services.lifecycle import order_cancel
from dispatch.services.onsite import order_complete
from dispatch.services.orders import order_update
from franchises.models import User
from franchises.scoping import scope_queryset

from .access import FOREMAN, FRANCHISE, HQ, SignedInRequest, role_of, roles_required
from .local_time import LocalTime, local_time

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django_stubs_ext import StrOrPromise

    from dispatch.selectors import OrderWithCounts

# The newest texts shown in the message log; a big order's log runs to hundreds.
MESSAGE_LIMIT = 200

STATUS_BADGES: dict[str, str] = {
    Order.Status.DRAFT: "",
    Order.Status.CALLING: "warn",
    Order.Status.FILLED: "ok",
    Order.Status.IN_PROGRESS: "ok",
    Order.Status.COMPLETED: "",
    Order.Status.CANCELLED: "bad",
}
STATE_BADGES: dict[str, str] = {
    Offer.State.OFFERED: "",
    Offer.State.CONFIRMED: "ok",
    Offer.State.STANDBY: "warn",
    Offer.State.RELEASED: "",
    Offer.State.CANCELLED: "bad",
}
ATTENDANCE_BADGES: dict[str, str] = {
    Offer.Attendance.PRESENT: "ok",
    Offer.Attendance.LATE: "warn",
    Offer.Attendance.NO_SHOW: "bad",
    Offer.Attendance.EXCUSED: "",
}
STATUS_LABELS: "dict[str, StrOrPromise]" = {
    Order.Status.DRAFT: gettext_lazy("Draft"),
    Order.Status.CALLING: gettext_lazy("Calling"),
    Order.Status.FILLED: gettext_lazy("Filled"),
    Order.Status.IN_PROGRESS: gettext_lazy("In progress"),
    Order.Status.COMPLETED: gettext_lazy("Completed"),
    Order.Status.CANCELLED: gettext_lazy("Cancelled"),
}
STATE_LABELS: "dict[str, StrOrPromise]" = {
    Offer.State.OFFERED: gettext_lazy("Offered"),
    Offer.State.CONFIRMED: gettext_lazy("Confirmed"),
    Offer.State.STANDBY: gettext_lazy("Standby"),
    Offer.State.RELEASED: gettext_lazy("Released"),
    Offer.State.CANCELLED: gettext_lazy("Cancelled"),
}
ATTENDANCE_LABELS: "dict[str, StrOrPromise]" = {
    Offer.Attendance.PRESENT: gettext_lazy("Present"),
    Offer.Attendance.LATE: gettext_lazy("Late"),
    Offer.Attendance.NO_SHOW: gettext_lazy("No-show"),
    Offer.Attendance.EXCUSED: gettext_lazy("Excused"),
}
CHANNEL_LABELS: "dict[str, StrOrPromise]" = {
    Offer.Channel.SMS: gettext_lazy("SMS"),
    Offer.Channel.LINK: gettext_lazy("Link"),
    Offer.Channel.VOICE: gettext_lazy("Call-back"),
}
POLICY_LABELS: "dict[str, StrOrPromise]" = {
    Order.Policy.FIXED: gettext_lazy("Fixed ratio"),
    Order.Policy.ADAPTIVE: gettext_lazy("Adaptive (from reliabilities)"),
}
STEP_LABELS: "dict[str, StrOrPromise]" = {
    Step.Kind.WAVE: gettext_lazy("Next wave"),
    Step.Kind.ASSIGN: gettext_lazy("Batch assignment"),
    Step.Kind.REMINDER_EVENING: gettext_lazy("Evening-before reminder"),
    Step.Kind.REMINDER_FINAL: gettext_lazy("Two-hours-before reminder"),
    Step.Kind.SILENCE_CHECK: gettext_lazy("Silence check (standby for the silent)"),
    Step.Kind.NO_SHOW_CHECK: gettext_lazy("No-show check"),
}
# Which actions each status offers; the services refuse the rest anyway.
ACTIONS: dict[str, tuple[str, ...]] = {
    Order.Status.DRAFT: ("callout", "cancel"),
    Order.Status.CALLING: ("assign", "wave", "cancel", "complete"),
    Order.Status.FILLED: ("assign", "cancel", "complete"),
    Order.Status.IN_PROGRESS: ("complete",),
}


def _orders(request: HttpRequest) -> "QuerySet[OrderWithCounts]":
    return orders_with_counts(
        scope_queryset(
            Order.objects.select_related("client", "site", "franchise", "foreman", "lead"),
            request.user,
        )
    )


def _order(request: HttpRequest, order_id: int) -> "OrderWithCounts":
    return get_object_or_404(_orders(request), pk=order_id)


@roles_required(HQ, FRANCHISE, FOREMAN)
def order_page(request: SignedInRequest, order_id: int) -> HttpResponse:
    """The order, its live parts and its actions. A foreman's view of his own order is the
    crew page (check-in on a phone), where this page sends him."""
    if role_of(request.user) == FOREMAN:
        order = get_object_or_404(scope_queryset(Order.objects.all(), request.user), pk=order_id)
        return redirect("web:crew-order", order_id=order.pk)
    order = _order(request, order_id)
    return render(request, "web/order.html", {**_summary(order), **_live(order)})


@roles_required(HQ, FRANCHISE)
def order_live(request: SignedInRequest, order_id: int) -> HttpResponse:
    """The polled fragment: counts, timeline, offers and messages as they stand now."""
    order = _order(request, order_id)
    return render(request, "web/_order_live.html", _live(order))


def _foremen(order: Order) -> "QuerySet[User]":
    """The logins who may run the order's crew on site: its franchise's foremen."""
    return User.objects.filter(role=User.Role.FOREMAN, franchise_id=order.franchise_id,
                               is_active=True).order_by("first_name", "last_name", "username")


def _summary(order: Order) -> dict[str, Any]:
    now = clock.now()
    zone = order.franchise.timezone
    actions = set(ACTIONS.get(order.status, ()))
    if now < order.start:
        actions.discard("complete")
    completed = order.status == Order.Status.COMPLETED
    naming = order.status not in (Order.Status.COMPLETED, Order.Status.CANCELLED)
    return {
        "foremen": list(_foremen(order)) if naming else None,
        "start": local_time(order.start, zone),
        "ends": local_time(order.ends_at, zone),
        "policy_label": POLICY_LABELS.get(order.overbook_policy, order.overbook_policy),
        "actions": actions,
        "has_crew_page": order.status not in (Order.Status.DRAFT, Order.Status.CANCELLED),
        "lines": order_lines(order) if completed else None,
        "order_books": order_books(order=order),
        "completed_at": local_time(order.completed_at, zone) if order.completed_at else None,
    }


@dataclass(frozen=True)
class TimelineLine:
    when: LocalTime
    text: str
    pending: bool
    moment: str


def _reminder(entry: TimelineEntry) -> str:
    labels: dict[str | None, str] = {
        Step.Kind.REMINDER_EVENING: _("Evening-before reminder"),
        Step.Kind.REMINDER_FINAL: _("Two-hours-before reminder"),
    }
    label = labels.get(entry.step, _("Reminder"))
    sent = entry.facts["sent"]
    if not sent:
        return _("%(label)s: nobody to remind") % {"label": label}
    return ngettext("%(label)s sent to %(sent)s worker", "%(label)s sent to %(sent)s workers",
                    sent) % {"label": label, "sent": sent}


# One sentence per moment of the timeline, in the reader's language.
SENTENCES: dict[str, Callable[[TimelineEntry], str]] = {
    Moment.PENDING: lambda e: str(STEP_LABELS.get(e.step, e.step)),
    Moment.PLACED: lambda e: _("Order placed"),
    Moment.CALLOUT: lambda e: _("Call-out started, booking target %(target)s") % e.facts,
    Moment.WAVE: lambda e: ngettext(
        "Wave %(wave)s: %(offers)s offer, farthest %(farthest_km)s km",
        "Wave %(wave)s: %(offers)s offers, farthest %(farthest_km)s km",
        e.facts["offers"]) % e.facts,
    Moment.ASSIGNMENT: lambda e: _(
        "Assignment: %(confirmed)s confirmed, %(standby)s on standby, %(released)s released"
    ) % e.facts,
    Moment.FILLED: lambda e: _("Crew booked: the booking target is reached"),
    Moment.REMINDER: _reminder,
    Moment.SILENCE_CHECK: lambda e: _(
        "Silence check: %(standby_called)s on standby called in") % e.facts,
    Moment.STANDBY_CALLED: lambda e: _("%(called)s on standby called in") % e.facts,
    Moment.CHECK_INS: lambda e: _(
        "Check-ins began: %(present)s present, %(late)s late") % e.facts,
    Moment.NO_SHOW_CHECK: lambda e: _(
        "No-show check: %(no_shows)s no-shows, %(standby_called)s on standby called in"
    ) % e.facts,
    Moment.CANCELLED: lambda e: ngettext(
        "Cancelled; %(told)s worker texted", "Cancelled; %(told)s workers texted",
        e.facts["told"]) % e.facts,
    Moment.COMPLETED: lambda e: _("Completed: hours confirmed, invoice and pay lines written"),
    Moment.CLIENT_ASKED: lambda e: _("The client was asked by SMS to score the crew"),
}


def _live(order: "OrderWithCounts") -> dict[str, Any]:
    zone = order.franchise.timezone
    offers = order_offers(order)
    for offer in offers:
        offer.sent_local = local_time(offer.sent_at, zone)
        offer.responded_local = (local_time(offer.responded_at, zone)
                                 if offer.responded_at else None)
        offer.checked_in_local = (local_time(offer.checked_in_at, zone)
                                  if offer.checked_in_at else None)
        offer.state_label = STATE_LABELS.get(offer.state, offer.state)
        offer.state_badge = STATE_BADGES.get(offer.state, "")
        offer.attendance_label = ATTENDANCE_LABELS.get(offer.attendance or "", "")
        offer.attendance_badge = ATTENDANCE_BADGES.get(offer.attendance or "", "")
        offer.channel_label = CHANNEL_LABELS.get(offer.channel, "")
    texts, total = order_messages(order, limit=MESSAGE_LIMIT)
    for message in texts:
        message.local = local_time(message.created_at, zone)
    timeline = [
        TimelineLine(local_time(entry.at, zone), SENTENCES[entry.moment](entry), entry.pending,
                     str(entry.moment))
        for entry in order_timeline(order)
    ]
    return {
        "order": order,
        "live": order.status in Order.OPEN_STATUSES,
        "status_label": STATUS_LABELS.get(order.status, order.status),
        "status_badge": STATUS_BADGES.get(order.status, ""),
        "offers": offers,
        "timeline": timeline,
        "texts": texts,
        "texts_total": total,
        "texts_cut": total > len(texts),
        "crew": order.count_confirmed + order.count_standby,
    }


@require_POST
@roles_required(HQ, FRANCHISE)
def order_action(request: SignedInRequest, order_id: int, action: str) -> HttpResponse:
    """Start the call-out, run the assignment now, send another wave, or complete, as the
    API's order actions do."""
    order = _order(request, order_id)
    try:
        text = _act(order, action)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, text)
    return redirect("web:order", order_id=order.pk)


@require_POST
@roles_required(HQ, FRANCHISE)
def order_foreman(request: SignedInRequest, order_id: int) -> HttpResponse:
    """Name the foreman who checks the crew in (one of the franchise's foreman logins), or
    nobody; the order then shows on that foreman's crew page."""
    order = _order(request, order_id)
    chosen = request.POST.get("foreman", "")
    foreman = None
    if chosen:
        foreman = _foremen(order).filter(pk=int(chosen) if chosen.isdigit() else 0).first()
        if foreman is None:
            messages.error(request, _("Choose one of this franchise's foremen."))
            return redirect("web:order", order_id=order.pk)
    try:
        order_update(order=order, foreman=foreman)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if foreman is None:
            messages.success(request, _("Order %(code)s has no foreman now.") % {
                "code": order.code})
        else:
            messages.success(request, _(
                "%(name)s is the foreman of order %(code)s: the crew is on their crew page."
            ) % {"name": foreman.get_full_name() or foreman.username, "code": order.code})
    return redirect("web:order", order_id=order.pk)


def _act(order: Order, action: str) -> str:
    if action == "callout":
        callout_start(order=order)
        order = orders_with_counts(Order.objects.filter(pk=order.pk)).get()
        return _("Call-out started: booking target %(target)s, %(sent)s offers sent.") % {
            "target": order.booking_target, "sent": order.count_invited}
    if action == "assign":
        # The API's assign action asks the same: only an order still being booked.
        if order.status not in (Order.Status.CALLING, Order.Status.FILLED):
            raise ValidationError(_("Nothing to assign: the order is %(status)s.") % {
                "status": str(STATUS_LABELS[order.status]).lower()})
        result = assignment_run(franchise_id=order.franchise_id)
        return _("Assignment run over %(orders)s open orders: %(confirmed)s confirmed, "
                 "%(standby)s on standby, %(released)s released.") % {
            "orders": result.orders, "confirmed": result.confirmed,
            "standby": result.standby, "released": result.released}
    if action == "wave":
        if order.status != Order.Status.CALLING:
            raise ValidationError(_("Another wave goes out only while the order is calling."))
        sent = wave_next(order_id=order.pk)
        if not sent:
            return _("No wave sent: the offers out are expected to cover the booking target, "
                     "or nobody new is within the widest radius.")
        return ngettext("Another wave sent: %(sent)s offer.",
                        "Another wave sent: %(sent)s offers.", sent) % {"sent": sent}
    if action == "complete":
        order = order_complete(order=order)
        return _("Order %(code)s completed: hours confirmed, invoice and pay lines "
                 "written.") % {"code": order.code}
    raise Http404(_("No such action."))


@roles_required(HQ, FRANCHISE)
def order_cancel_page(request: SignedInRequest, order_id: int) -> HttpResponse:
    """Cancelling texts the crew: a GET says how many will be texted, the POST cancels."""
    order = _order(request, order_id)
    texted = order.count_confirmed + order.count_standby
    if request.method == "POST":
        try:
            if order.status == Order.Status.CANCELLED:
                raise ValidationError(_("The order is already cancelled."))
            order_cancel(order=order)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, ngettext(
                "Order %(code)s cancelled; %(texted)s worker is being told by SMS.",
                "Order %(code)s cancelled; %(texted)s workers are being told by SMS.",
                texted) % {"code": order.code, "texted": texted})
        return redirect("web:order", order_id=order.pk)
    return render(request, "web/order_cancel.html", {
        "order": order,
        "texted": texted,
        "start": local_time(order.start, order.franchise.timezone),
        "cancellable": "cancel" in ACTIONS.get(order.status, ()),
        "status_label": STATUS_LABELS.get(order.status, order.status),
    })
