"""The foreman's crew pages: the orders of today and tomorrow, and checking a crew in on site.

Made for a cheap phone held in gloves: one column, big buttons, plain forms that work without
JavaScript, a few kilobytes a page over a slow connection. Every write goes through the on-site
services (`attendance_record`, `order_complete`); these views only turn a tap into their
arguments and their refusals into a message on the page.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import clock
from dispatch.models import Offer, Order
from dispatch.selectors import crew_split_of, orders_with_counts
from dispatch.services.onsite import (
    ATTENDANCE_CLOSES,
    ATTENDANCE_OPENS,
    AttendanceEntry,
    attendance_record,
    order_complete,
    surplus_keep,
    surplus_send_home,
)
from franchises.models import Franchise
from franchises.scoping import scope_queryset
from workers.models import Worker

from .forms import AttendanceForm, SurplusForm

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from .local_time import local_days, local_time
from .templatetags.hours import hours as hours_shown

# Who is on the crew: the booked workers and the standby ones (a standby worker who turns up
# is checked in like anyone else, and the service makes them part of the crew).
CREW_STATES = (Offer.State.CONFIRMED, Offer.State.STANDBY)
# An HQ login sees the whole network's crews; a phone page of thousands of rows helps nobody.
LIST_LIMIT = 200
CAME = (Offer.Attendance.PRESENT, Offer.Attendance.LATE)
ATTENDANCE_WORDS: "dict[str | None, StrOrPromise]" = {
    Offer.Attendance.PRESENT: gettext_lazy("Present"),
    Offer.Attendance.LATE: gettext_lazy("Late"),
    Offer.Attendance.NO_SHOW: gettext_lazy("No-show"),
    Offer.Attendance.EXCUSED: gettext_lazy("Excused"),
}
STATUS_WORDS: "dict[str, StrOrPromise]" = {
    Order.Status.DRAFT: gettext_lazy("Draft"),
    Order.Status.CALLING: gettext_lazy("Calling"),
    Order.Status.FILLED: gettext_lazy("Filled"),
    Order.Status.IN_PROGRESS: gettext_lazy("In progress"),
    Order.Status.COMPLETED: gettext_lazy("Completed"),
    Order.Status.CANCELLED: gettext_lazy("Cancelled"),
}


def _orders(user: Any) -> QuerySet[Order]:
    return scope_queryset(Order.objects.select_related("client", "site", "franchise"), user)


def may_complete(user: Any) -> bool:
    """Completing confirms the hours that are billed and paid: the office's call. A foreman
    records attendance but does not complete, as in the API (`ForemanReadOnly`)."""
    return bool(user.is_hq or user.role != "foreman")


def _day_label(order: Order, now: datetime) -> str:
    start = local_time(order.start, order.franchise.timezone)
    today = local_time(now, order.franchise.timezone).local_date
    days = (start.local_date - today).days
    return {0: _("Today"), 1: _("Tomorrow"), -1: _("Yesterday")}.get(days, start.day)


@login_required
def crew_orders(request: HttpRequest) -> HttpResponse:
    """The caller's orders of today and tomorrow (each in its franchise's own days), and any
    still in progress, soonest first."""
    now = clock.now()
    window = Q(status=Order.Status.IN_PROGRESS)
    # A handful of zones for the whole network: one exact range of local days per zone.
    for zone_name in set(Franchise.objects.values_list("timezone", flat=True)):
        first, last = local_days(now, zone_name, 2)
        window |= Q(franchise__timezone=zone_name, start__gte=first, start__lt=last)
    orders = list(
        orders_with_counts(_orders(request.user).filter(window)).order_by("start", "id")[
            :LIST_LIMIT
        ]
    )
    for order in orders:
        order.local_start = local_time(order.start, order.franchise.timezone)
        order.day_label = _day_label(order, now)
    return render(request, "web/crew_orders.html", {
        "orders": orders, "cut_off": len(orders) == LIST_LIMIT,
    })


@dataclass
class Refusal:
    """Why a tap recorded nothing, whom it concerned and where the page shows it: on that
    worker's card (the page opens there), by the completion button, or at the top when it
    concerns nobody on the crew."""

    CARD = "card"
    COMPLETE = "complete"
    TOP = "top"

    messages: list[str]
    place: str = TOP
    worker_id: int | None = None
    worker_name: str = ""
    typed_hours: str = ""


def _form_errors(form: AttendanceForm | SurplusForm) -> list[str]:
    labels = {"hours": _("Hours"), "status": _("Status"), "worker": _("Worker"),
              "action": _("Action")}
    errors: list[str] = []
    for name, field_errors in form.errors.items():
        label = labels.get(name, "")  # "__all__": the service's
        errors += [f"{label}: {error}" if label else str(error) for error in field_errors]
    return errors


def _attendance_text(offer: Offer, hours_typed: Any) -> str:
    text = _("%(name)s: %(attendance)s") % {
        "name": offer.worker.name,
        "attendance": str(ATTENDANCE_WORDS.get(offer.attendance, offer.attendance)).lower(),
    }
    if offer.hours_worked is not None:
        text += _(", %(hours)s h") % {"hours": hours_shown(offer.hours_worked)}
    elif hours_typed is not None:
        text += " " + _("(hours are not kept for a no-show)")
    return text + "."


def _recorded(request: HttpRequest, order: Order, form: AttendanceForm) -> HttpResponse | None:
    """Record one worker's attendance; None (and nothing written) when the service refuses."""
    data = form.cleaned_data
    try:
        offers = attendance_record(
            order=order,
            entries=[AttendanceEntry(data["worker"], data["status"], data["hours"])],
        )
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return None
    offer = offers[0]
    messages.success(request, _attendance_text(offer, data["hours"]))
    return redirect(reverse("web:crew-order", args=[order.pk]) + f"#worker-{offer.worker_id}")


# The crew page's buttons for a worker beyond the headcount.
SURPLUS_ACTIONS = ("keep", "unkeep", "send_home")


def _surplus_done(request: HttpRequest, order: Order, form: SurplusForm) -> HttpResponse | None:
    """Keep an extra worker at the client's request, take that back, or send them home with
    the show-up fee; None (and nothing written) when the service refuses."""
    data = form.cleaned_data
    worker_id, action = data["worker"], data["action"]
    try:
        if action == "send_home":
            surplus_send_home(order=order, worker_id=worker_id)
            offer = order.offers.select_related("worker").get(worker_id=worker_id)
            text = _("%(name)s is sent home: an SMS tells them the show-up fee of %(fee)s.") % {
                "name": offer.worker.name, "fee": _show_up_fee(order)}
        else:
            offer = surplus_keep(order=order, worker_id=worker_id, kept=action == "keep")
            text = (_("%(name)s stays, kept at the client's request: billed and paid the hours.")
                    if offer.kept else
                    _("%(name)s is no longer kept: beyond the headcount they go home.")
                    ) % {"name": offer.worker.name}
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return None
    messages.success(request, text)
    return redirect(reverse("web:crew-order", args=[order.pk]) + f"#worker-{worker_id}")


def _show_up_fee(order: Order) -> str:
    """The fee as the page reads it: 300 for 300.00, 275.50 (275,50 in Russian) otherwise."""
    fee = order.franchise.show_up_fee
    shown = fee.to_integral() if fee == fee.to_integral() else fee.quantize(Decimal("0.01"))
    return f"{formats.localize(shown)} {order.franchise.currency}"


def _refusal(order: Order, form: AttendanceForm | SurplusForm, typed_hours: str) -> Refusal:
    """The refusal of a tap (attendance, keep, send home), tied to the worker it was for when
    the post names one (a worker not on this crew is named from the pool, which every office
    shares)."""
    refusal = Refusal(messages=_form_errors(form), typed_hours=typed_hours)
    worker_id = form.cleaned_data.get("worker")
    if worker_id:
        refusal.worker_id = worker_id
        if order.offers.filter(worker_id=worker_id, state__in=CREW_STATES).exists():
            refusal.place = Refusal.CARD
        refusal.worker_name = (
            Worker.objects.filter(pk=worker_id).values_list("name", flat=True).first() or ""
        )
    return refusal


@login_required
def crew_order(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order's crew with Present / Late / No-show per worker, and completion.

    Posts come back here and are answered with a redirect (a reload never records twice); a
    refusal (attendance not open yet, not on this crew, too many hours) is shown on the card
    of the worker it concerns, the page opening there, and the service has written nothing."""
    order = get_object_or_404(_orders(request.user), pk=order_id)
    refusal: Refusal | None = None
    if request.method == "POST" and request.POST.get("action") == "complete":
        if not may_complete(request.user):
            return HttpResponse(_("A foreman records attendance; the office completes the "
                                  "order."), status=403)
        try:
            order = order_complete(order=order)
        except ValidationError as exc:
            refusal = Refusal(messages=exc.messages, place=Refusal.COMPLETE)
        else:
            messages.success(request, _("Order %(code)s completed: hours confirmed.")
                             % {"code": order.code})
            return redirect("web:crew-order", order_id=order.pk)
    elif request.method == "POST" and request.POST.get("action") in SURPLUS_ACTIONS:
        surplus = SurplusForm(request.POST)
        if surplus.is_valid():
            response = _surplus_done(request, order, surplus)
            if response is not None:
                return response
        refusal = _refusal(order, surplus, "")
    elif request.method == "POST":
        form = AttendanceForm(request.POST)
        if form.is_valid():
            response = _recorded(request, order, form)
            if response is not None:
                return response
        refusal = _refusal(order, form, request.POST.get("hours", ""))
    return render(request, "web/crew_order.html", _crew_context(request, order, refusal))


def _crew_context(request: HttpRequest, order: Order, refusal: Refusal | None
                  ) -> dict[str, Any]:
    now = clock.now()
    zone = order.franchise.timezone
    crew = list(
        order.offers.filter(state__in=CREW_STATES).select_related("worker")
        .order_by("state", "worker__name", "worker_id")  # confirmed before standby
    )
    # Who the client pays for once more than the headcount is present, and who goes home.
    split, _ = crew_split_of(order)
    kept, going = set(split.kept), set(split.sent_home)
    for offer in crew:
        offer.refused = (refusal if refusal and refusal.place == Refusal.CARD
                         and refusal.worker_id == offer.worker_id else None)
        offer.hours_typed = offer.refused.typed_hours if offer.refused else None
        # What a blank hours field means (attendance_record leaves recorded hours as they
        # are): the hours already recorded for someone who came, else the whole shift.
        offer.hours_kept = offer.hours_worked if offer.attendance in CAME else None
        offer.kept_extra = offer.worker_id in kept
        offer.goes_home = offer.worker_id in going
        offer.sent_home_local = (local_time(offer.sent_home_at, zone) if offer.sent_home_at
                                 else None)
        offer.attendance_word = ATTENDANCE_WORDS.get(offer.attendance or "", "")
    return {
        "order": order,
        "crew": crew,
        "going_home": [offer for offer in crew if offer.goes_home],
        "show_up_fee": _show_up_fee(order),
        "present": sum(offer.attendance in CAME for offer in crew),
        "no_shows": sum(offer.attendance == Offer.Attendance.NO_SHOW for offer in crew),
        "start": local_time(order.start, zone),
        "day_label": _day_label(order, now),
        "opens": local_time(order.start - ATTENDANCE_OPENS, zone),
        "closes": local_time(order.ends_at + ATTENDANCE_CLOSES, zone),
        "takes_attendance": order.status not in (Order.Status.DRAFT, Order.Status.CANCELLED),
        "can_complete": (
            may_complete(request.user) and now >= order.start
            and order.status in (Order.Status.CALLING, Order.Status.FILLED,
                                 Order.Status.IN_PROGRESS)
        ),
        "statuses": [(value, ATTENDANCE_WORDS[value]) for value in (
            Offer.Attendance.PRESENT, Offer.Attendance.LATE, Offer.Attendance.NO_SHOW)],
        "refusal": refusal,
        "status_label": STATUS_WORDS.get(order.status, order.status),
    }
