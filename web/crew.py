"""The foreman's crew pages: the orders of today and tomorrow, and checking a crew in on site.

Made for a cheap phone held in gloves: one column, big buttons, plain forms that work without
JavaScript, a few kilobytes a page over a slow connection. Every write goes through the on-site
services (`attendance_record`, `order_complete`); these views only turn a tap into their
arguments and their refusals into a message on the page.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from core import clock
from dispatch.models import Offer, Order
from dispatch.selectors import crew_split_of, orders_with_counts
from dispatch.services.notify import amount_text
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

from .forms import AttendanceForm, SurplusForm
from .local_time import local_days, local_time

# Who is on the crew: the booked workers and the standby ones (a standby worker who turns up
# is checked in like anyone else, and the service makes them part of the crew).
CREW_STATES = (Offer.State.CONFIRMED, Offer.State.STANDBY)
# An HQ login sees the whole network's crews; a phone page of thousands of rows helps nobody.
LIST_LIMIT = 200
CAME = (Offer.Attendance.PRESENT, Offer.Attendance.LATE)


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
    return {0: "Today", 1: "Tomorrow", -1: "Yesterday"}.get(days, start.day)


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


def _form_errors(form: AttendanceForm) -> list[str]:
    errors = []
    for name, field_errors in form.errors.items():
        label = name.capitalize() if name in form.fields else ""  # "__all__": the service's
        errors += [f"{label}: {error}" if label else error for error in field_errors]
    return errors


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
    text = f"{offer.worker.name}: {offer.get_attendance_display().lower()}"
    if offer.hours_worked is not None:
        text += f", {offer.hours_worked} h"
    elif data["hours"] is not None:
        text += " (hours are not kept for a no-show)"
    messages.success(request, text + ".")
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
            text = (f"{offer.worker.name} is sent home: an SMS tells them the show-up fee of "
                    f"{amount_text(order.franchise.show_up_fee)} {order.franchise.currency}.")
        else:
            offer = surplus_keep(order=order, worker_id=worker_id, kept=action == "keep")
            text = (f"{offer.worker.name} stays, kept at the client's request: billed and paid "
                    f"the hours." if offer.kept else
                    f"{offer.worker.name} is no longer kept: beyond the headcount they go home.")
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return None
    messages.success(request, text)
    return redirect(reverse("web:crew-order", args=[order.pk]) + f"#worker-{worker_id}")


@login_required
def crew_order(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order's crew with Present / Late / No-show per worker, and completion.

    Posts come back here and are answered with a redirect (a reload never records twice); a
    refusal (attendance not open yet, not on this crew, too many hours) is shown on the page,
    and the service has written nothing."""
    order = get_object_or_404(_orders(request.user), pk=order_id)
    errors: list[str] = []
    typed: dict[int, str] = {}
    if request.method == "POST" and request.POST.get("action") == "complete":
        if not may_complete(request.user):
            return HttpResponse("A foreman records attendance; the office completes the order.",
                                status=403)
        try:
            order = order_complete(order=order)
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"Order {order.code} completed: hours confirmed.")
            return redirect("web:crew-order", order_id=order.pk)
    elif request.method == "POST" and request.POST.get("action") in SURPLUS_ACTIONS:
        surplus = SurplusForm(request.POST)
        if surplus.is_valid():
            response = _surplus_done(request, order, surplus)
            if response is not None:
                return response
        errors = _form_errors(surplus)
    elif request.method == "POST":
        form = AttendanceForm(request.POST)
        if form.is_valid():
            response = _recorded(request, order, form)
            if response is not None:
                return response
        errors = _form_errors(form)
        if form.cleaned_data.get("worker"):
            typed[form.cleaned_data["worker"]] = request.POST.get("hours", "")
    return render(request, "web/crew_order.html", _crew_context(request, order, errors, typed))


def _crew_context(request: HttpRequest, order: Order, errors: list[str],
                  typed: dict[int, str]) -> dict[str, Any]:
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
        offer.hours_typed = typed.get(offer.worker_id)
        # What a blank hours field means (attendance_record leaves recorded hours as they
        # are): the hours already recorded for someone who came, else the whole shift.
        offer.hours_kept = offer.hours_worked if offer.attendance in CAME else None
        offer.kept_extra = offer.worker_id in kept
        offer.goes_home = offer.worker_id in going
        offer.sent_home_local = (local_time(offer.sent_home_at, zone) if offer.sent_home_at
                                 else None)
    return {
        "order": order,
        "crew": crew,
        "going_home": [offer for offer in crew if offer.goes_home],
        "show_up_fee": f"{amount_text(order.franchise.show_up_fee)} {order.franchise.currency}",
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
        "statuses": [
            (Offer.Attendance.PRESENT, "Present"),
            (Offer.Attendance.LATE, "Late"),
            (Offer.Attendance.NO_SHOW, "No-show"),
        ],
        "errors": errors,
    }
