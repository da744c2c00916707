"""The live board: a day's orders, how each fills, and the dispatcher's actions on them.

The table's body is a fragment the page polls every few seconds (htmx), with the same
filters and page, so crews confirmed by SMS appear without a reload. Actions go through the
services the API calls (`callout_start`, `assignment_run`, `wave_next`, `order_cancel`);
a refusal comes back as a message on the board, never an error page. Cancelling first
shows how many workers will be texted, and only a second POST cancels.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from core import clock
from dispatch.models import Order
from dispatch.selectors import (
    Risk,
    order_risk,
    orders_of_local_day,
    orders_with_counts,
    orders_with_counts_by_id,
)
from dispatch.services import assignment_run, callout_start, wave_next
from dispatch.services.lifecycle import order_cancel
from franchises.models import Franchise
from franchises.scoping import scope_queryset

from .access import FRANCHISE, HQ, SignedInRequest, roles_required
from .local_time import LocalTime, local_time

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from dispatch.selectors import OrderWithCounts

# Rows per page: a busy network day has a thousand orders; a screen reads a few dozen.
PAGE_SIZE = 50
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 30)
# Statuses an order still needs dispatching in.
OPEN = "open"

STATUS_LABELS: "dict[str, StrOrPromise]" = {
    Order.Status.DRAFT: gettext_lazy("Draft"),
    Order.Status.CALLING: gettext_lazy("Calling"),
    Order.Status.FILLED: gettext_lazy("Filled"),
    Order.Status.IN_PROGRESS: gettext_lazy("In progress"),
    Order.Status.COMPLETED: gettext_lazy("Completed"),
    Order.Status.CANCELLED: gettext_lazy("Cancelled"),
}
STATUS_BADGES: dict[str, str] = {
    Order.Status.CALLING: "warn",
    Order.Status.FILLED: "ok",
    Order.Status.IN_PROGRESS: "ok",
}


# A page of the board links every order and each of its actions: their addresses are
# reversed once per request with this stand-in id, then filled in per row (a few hundred
# `reverse` calls were a good part of a page's time).
_ANY_ID = 987654321


class OrderLinks:
    """The addresses of an order's page and of the board's actions on it."""

    def __init__(self) -> None:
        try:  # the order's own page; the crew page where the console has none
            page = reverse("web:order", args=[_ANY_ID])
        except NoReverseMatch:
            page = reverse("web:crew-order", args=[_ANY_ID])
        self._page = page
        self._cancel = reverse("web:board-cancel", args=[_ANY_ID])
        self._actions = {action: reverse("web:board-action", args=[_ANY_ID, action])
                         for action in ("callout", "assign", "wave")}

    @staticmethod
    def _fill(template: str, order_id: int) -> str:
        return template.replace(str(_ANY_ID), str(order_id))

    def page(self, order_id: int) -> str:
        return self._fill(self._page, order_id)

    def action(self, order_id: int, action: str) -> str:
        if action == "cancel":
            return self._fill(self._cancel, order_id)
        return self._fill(self._actions[action], order_id)


def at_risk_window() -> timedelta:
    """How near a start must be for a short crew to mark the order at risk."""
    return timedelta(hours=float(settings.BOARD_AT_RISK_HOURS))


class BoardFilters(forms.Form):
    day = forms.DateField(required=False, label=gettext_lazy("Day"))
    franchise = forms.ModelChoiceField(
        queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ).order_by("name"),
        required=False, label=gettext_lazy("Franchise"),
        empty_label=gettext_lazy("All franchises"),
        widget=forms.Select(attrs={"data-submit-on-change": ""}),
    )
    status = forms.ChoiceField(
        required=False, label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("All")), (OPEN, gettext_lazy("Open")),
                 *STATUS_LABELS.items()],
        widget=forms.Select(attrs={"data-submit-on-change": ""}),
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, hq: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not hq:
            del self.fields["franchise"]  # a franchise's board is its own

    def clean_day(self) -> date | None:
        day = self.cleaned_data.get("day")
        # The day's ends in every zone, and the days before and after, must be dates too
        # (year 1 west of UTC is not); no business looks further than this.
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(_("Pick a day between %(first)s and %(last)s.") % {
                "first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()})
        return day


@dataclass(frozen=True)
class FillBar:
    """An order's filling drawn in one SVG: confirmed against the headcount, standby beyond
    it, present underneath, the headcount marked. Widths are in crew places."""

    scale: int
    headcount: int
    confirmed: int
    standby: int
    present: int

    @property
    def short(self) -> bool:
        return self.confirmed < self.headcount

    @property
    def label(self) -> str:
        """The bar in words, for those who do not see it."""
        return _("%(confirmed)s of %(headcount)s confirmed, %(standby)s standby, "
                 "%(present)s present") % {
            "confirmed": self.confirmed, "headcount": self.headcount,
            "standby": self.standby, "present": self.present}


@dataclass(frozen=True)
class RowAction:
    name: str  # callout, assign, wave, cancel
    url: str
    label: str


@dataclass(frozen=True)
class BoardRow:
    order: Order
    url: str
    local_start: LocalTime
    status_label: "StrOrPromise"
    status_badge: str
    risk: Risk | None
    bar: FillBar
    actions: tuple[RowAction, ...]


# What the dispatcher may do to an order in each status (the services refuse the rest).
ACTIONS: dict[str, tuple[str, ...]] = {
    Order.Status.DRAFT: ("callout", "cancel"),
    Order.Status.CALLING: ("assign", "wave", "cancel"),
    Order.Status.FILLED: ("assign", "cancel"),
}


ACTION_LABELS: "dict[str, StrOrPromise]" = {
    "callout": gettext_lazy("Start call-out"),
    "assign": gettext_lazy("Assign now"),
    "wave": gettext_lazy("Another wave"),
    "cancel": gettext_lazy("Cancel…"),
}


def _row(
    order: "OrderWithCounts", now: datetime, near: timedelta, links: OrderLinks
) -> BoardRow:
    confirmed, standby = order.count_confirmed, order.count_standby
    return BoardRow(
        order=order,
        url=links.page(order.pk),
        local_start=local_time(order.start, order.franchise.timezone),
        status_label=STATUS_LABELS.get(order.status, order.status),
        status_badge=STATUS_BADGES.get(order.status, ""),
        risk=order_risk(order, now=now, near=near),
        bar=FillBar(
            scale=max(order.headcount, order.booking_target, confirmed + standby, 1),
            headcount=order.headcount, confirmed=confirmed, standby=standby,
            present=order.count_present,
        ),
        actions=tuple(
            RowAction(action, links.action(order.pk, action), str(ACTION_LABELS[action]))
            for action in ACTIONS.get(order.status, ())
        ),
    )


@dataclass
class Board:
    filters: BoardFilters
    day: date
    franchise: Franchise | None
    page: Page
    rows: list[BoardRow]
    filter_query: str  # the filters, for the pager's links
    query: str  # the filters and page, for the polled fragment and the actions' way back

    @cached_property
    def back(self) -> str:
        """This board, as an action's way back to it."""
        return f"{reverse('web:board')}?{self.query}"


def _zones(user: Any, franchise: Franchise | None) -> list[str]:
    if franchise is not None:
        return [franchise.timezone]
    if not user.is_hq:
        return [user.franchise.timezone]
    return list(Franchise.objects.order_by().values_list("timezone", flat=True).distinct())


def _day_orders(request: HttpRequest, filters: BoardFilters, today: date
                ) -> tuple[QuerySet[Order], date, Franchise | None]:
    filters.is_valid()  # a bad filter is shown by its field; the valid ones still apply
    data = getattr(filters, "cleaned_data", {})
    day = data.get("day") or today
    franchise = data.get("franchise")
    orders = scope_queryset(Order.objects.all(), request.user)
    if franchise is not None:
        orders = orders.filter(franchise=franchise)
    status = data.get("status")
    if status == OPEN:
        orders = orders.filter(status__in=Order.OPEN_STATUSES)
    elif status:
        orders = orders.filter(status=status)
    orders = orders_of_local_day(orders, day=day, zones=_zones(request.user, franchise))
    return orders.order_by("start", "id"), day, franchise


def board_state(request: SignedInRequest) -> Board:
    """The board as the request's filters ask for it: a count and one page of rows, each
    with its offer funnel, in a fixed number of queries however many orders the day holds."""
    now = clock.now()
    today = timezone.localdate(now)  # the viewer's day: the middleware set their zone
    filters = BoardFilters(request.GET or None, hq=request.user.is_hq)
    orders, day, franchise = _day_orders(request, filters, today)
    paginator = Paginator(orders.values_list("pk", flat=True), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    near = at_risk_window()
    links = OrderLinks()
    rows = [_row(order, now, near, links) for order in orders_with_counts_by_id(list(page))]
    params = {"day": day.isoformat()}
    if franchise is not None:
        params["franchise"] = str(franchise.pk)
    status = getattr(filters, "cleaned_data", {}).get("status")
    if status:
        params["status"] = status
    filter_query = urlencode(params)
    if page.number > 1:
        params["page"] = str(page.number)
    return Board(filters=filters, day=day, franchise=franchise, page=page, rows=rows,
                 filter_query=filter_query, query=urlencode(params))


@roles_required(HQ, FRANCHISE)
def board(request: SignedInRequest) -> HttpResponse:
    """The day's orders, filtered, one page at a time; the rows refresh themselves."""
    state = board_state(request)
    day_link = {k: v for k, v in request.GET.items() if k not in ("day", "page")}
    return render(request, "web/board.html", {
        "board": state,
        "previous_day": urlencode({**day_link, "day": (state.day - timedelta(days=1))
                                   .isoformat()}),
        "next_day": urlencode({**day_link, "day": (state.day + timedelta(days=1)).isoformat()}),
        "zone": local_time(clock.now(), timezone.get_current_timezone_name()).zone,
    })


@roles_required(HQ, FRANCHISE)
def board_rows(request: SignedInRequest) -> HttpResponse:
    """The board's table body alone: what the page polls."""
    return render(request, "web/_board_rows.html", {"board": board_state(request)})


def _next(request: HttpRequest) -> str:
    """The board the action came from, with its filters and page (only ever a board)."""
    board_url = reverse("web:board")
    target = request.POST.get("next") or request.GET.get("next") or board_url
    if not (target.startswith(board_url) and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure())):
        return board_url
    return target


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(_next(request))


def _scoped_order(request: HttpRequest, order_id: int) -> Order:
    return get_object_or_404(
        scope_queryset(Order.objects.select_related("franchise"), request.user), pk=order_id
    )


def _refusal(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@require_POST
@roles_required(HQ, FRANCHISE)
def board_action(request: SignedInRequest, order_id: int, action: str) -> HttpResponse:
    """Start the call-out, run the assignment now, or send another wave, as the API does."""
    order = _scoped_order(request, order_id)
    try:
        text = _act(order, action)
    except ValidationError as exc:
        messages.error(request, _("%(code)s: %(reason)s") % {
            "code": order.code, "reason": _refusal(exc)})
    else:
        messages.success(request, text)
    return _back(request)


def _act(order: Order, action: str) -> str:
    if action == "callout":
        callout_start(order=order)
        order = orders_with_counts(Order.objects.filter(pk=order.pk)).get()
        return _("%(code)s: call-out started, booking target %(target)s, %(sent)s offers "
                 "sent.") % {"code": order.code, "target": order.booking_target,
                             "sent": order.count_invited}
    if action == "assign":
        # The same condition as the API's assign action: only an order still being booked.
        if order.status not in (Order.Status.CALLING, Order.Status.FILLED):
            raise ValidationError(_("Nothing to assign: the order is %(status)s.")
                                  % {"status": STATUS_LABELS[order.status].lower()})
        result = assignment_run(franchise_id=order.franchise_id)
        return _("%(code)s: assignment run over %(orders)s open orders: %(confirmed)s "
                 "confirmed, %(standby)s on standby, %(released)s released.") % {
            "code": order.code, "orders": result.orders, "confirmed": result.confirmed,
            "standby": result.standby, "released": result.released}
    if action == "wave":
        if order.status != Order.Status.CALLING:
            raise ValidationError(_("Another wave goes out only while the order is calling."))
        sent = wave_next(order_id=order.pk)
        if not sent:
            return _("%(code)s: no wave sent: the offers out are expected to cover the "
                     "booking target, or nobody new is within the widest radius.") % {
                "code": order.code}
        return _("%(code)s: another wave of %(sent)s offers sent.") % {
            "code": order.code, "sent": sent}
    raise Http404(_("No such action."))


@roles_required(HQ, FRANCHISE)
def board_cancel(request: SignedInRequest, order_id: int) -> HttpResponse:
    """Cancelling an order texts its crew: first say how many, then cancel on a POST."""
    order = _scoped_order(request, order_id)
    annotated = orders_with_counts(Order.objects.filter(pk=order.pk)).get()
    if request.method == "POST":
        try:
            if order.status == Order.Status.CANCELLED:
                raise ValidationError(_("The order is already cancelled."))
            order_cancel(order=order)
        except ValidationError as exc:
            messages.error(request, _("%(code)s: %(reason)s") % {
                "code": order.code, "reason": _refusal(exc)})
        else:
            texted = annotated.count_confirmed + annotated.count_standby
            messages.success(request, ngettext(
                "Order %(code)s cancelled; %(texted)s worker is being told by SMS.",
                "Order %(code)s cancelled; %(texted)s workers are being told by SMS.",
                texted) % {"code": order.code, "texted": texted})
        return _back(request)
    return render(request, "web/board_cancel.html", {
        "order": annotated,
        "texted": annotated.count_confirmed + annotated.count_standby,
        "local_start": local_time(order.start, order.franchise.timezone),
        "cancellable": order.status in ACTIONS and "cancel" in ACTIONS[order.status],
        "next": _next(request),
        "status_label": STATUS_LABELS.get(order.status, order.status),
    })
