"""Workers' answers to offers, arriving as SMS commands (or through the one-tap link)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F

from clients.models import Site
from core import clock, hooks, rows
from franchises.models import Franchise
from messaging import handlers
from messaging.grammar import CommandKind
from messaging.models import Message
from messaging.texts import render as messaging_text
from workers.models import Worker

from .. import sql, states, texts
from ..models import Appeal, Offer, Order, Step
from ..selectors import crew_on_site
from .appeals import APPEAL_WINDOW, appeal_open
from .attendance import booking_withdraw
from .notify import local_time, order_values
from .onsite import CHECK_IN_OPENS, CLIENT_SCORE_ANSWERS_WITHIN, check_in, client_score_record
from .steps import step_schedule

# The reads of a reply (which offer, which booking) run on every YES, NO, HERE and CANCEL a
# worker texts. They are written once as SQL (core.rows) instead of compiled by the ORM on
# each message: the same offer, order, franchise and site instances, for a tenth of the CPU.


def _offers(where: str, params: list[Any], order_by: str, limit: int | None = None) -> list[Offer]:
    """Offers matching `where`, with order, franchise and site attached. In `where` and
    `order_by`, `{f_state}` stands for the offer's column `state`, `{o_code}` for the order's
    `code`, and so on (`sql.offer_fields`)."""
    alias = router.db_for_read(Offer)
    fields = sql.offer_fields(alias)
    statement = sql.offer_select(alias) + "WHERE " + where.format_map(fields)
    statement += " ORDER BY " + order_by.format_map(fields)
    if limit is not None:
        statement += f" LIMIT {int(limit)}"
    found = []
    with connections[alias].cursor() as cursor:
        cursor.execute(statement, params)
        for row in cursor.fetchall():
            offer, order, franchise, site = rows.instances(
                alias, (Offer, Order, Franchise, Site), row
            )
            rows.cache_related(order, "franchise", franchise)
            rows.cache_related(order, "site", site)
            rows.cache_related(offer, "order", order)
            found.append(offer)
    return found


def open_offers(worker: Any, now: Any = None) -> list[Offer]:
    """Offers the worker may still answer: offered, unanswered, on orders still calling (a
    running order calls for as long as its crew is short)."""
    return _offers(
        sql.open_offer_where(router.db_for_read(Offer)),
        [worker.pk, Offer.State.OFFERED, Order.Status.CALLING, Order.Status.IN_PROGRESS,
         now or clock.now()],
        "{o_start}, {f_id}",
    )


def _batch_due(order: Order, now: Any) -> Any:
    window = timedelta(minutes=settings.DISPATCH["BATCH_WINDOW_MINUTES"])
    # An urgent order is assigned sooner: never later than a tenth of the time to its start.
    return min(now + window, now + (order.start - now) / 10)


@transaction.atomic
def offer_respond(*, offer: Offer, accept: bool, now: Any = None,
                  channel: str = Offer.Channel.SMS) -> tuple[Offer, str]:
    """Record a worker's yes or no to an offer, and the channel it came by; returns the
    offer and the text key to answer.

    The first answer counts; a repeat of the same answer is acknowledged again, a change of
    mind after a yes goes through withdrawal instead. A yes is not yet a booking: it joins the
    franchise's next batch assignment, due within a short window.
    """
    now = now or clock.now()
    offer = Offer.objects.select_related("order", "order__franchise").get(pk=offer.pk)
    order = offer.order
    response = Offer.Response.ACCEPTED if accept else Offer.Response.DECLINED
    claimed = Offer.objects.filter(pk=offer.pk, response__isnull=True).update(
        response=response, responded_at=now, channel=channel
    )
    if not claimed:
        offer.refresh_from_db()
        return offer, "accepted" if offer.response == Offer.Response.ACCEPTED else "declined"
    Worker.objects.filter(pk=offer.worker_id).update(
        offers_answered=F("offers_answered") + 1,
        offers_accepted=F("offers_accepted") + (1 if accept else 0),
    )
    offer.refresh_from_db()
    if not accept:
        states.offers_move(Offer.objects.filter(pk=offer.pk), to=Offer.State.RELEASED,
                           released_at=now)
        return offer, "declined"
    if order.status == Order.Status.IN_PROGRESS:
        return offer, _urgent_accept(order, offer, now)
    if order.status != Order.Status.CALLING or offer.state != Offer.State.OFFERED:
        states.offers_move(Offer.objects.filter(pk=offer.pk), to=Offer.State.RELEASED,
                           released_at=now)
        return offer, "already_filled"
    step_schedule(kind=Step.Kind.ASSIGN, due_at=_batch_due(order, now), franchise=order.franchise)
    return offer, "accepted"


@transaction.atomic
def acceptance_withdraw(*, offer: Offer, now: Any = None) -> bool:
    """A worker takes back a yes before the batch has booked them (NO or CANCEL after YES):
    the acceptance leaves the batch, with no penalty; the yes still counts as answered.
    False when the batch has booked them meanwhile (then it is a booking to withdraw from)."""
    now = now or clock.now()
    # The batch locks the order before it reads acceptances; so does this.
    Order.objects.select_for_update().filter(pk=offer.order_id).first()
    return bool(
        states.offers_move(
            Offer.objects.filter(pk=offer.pk, response=Offer.Response.ACCEPTED),
            to=Offer.State.RELEASED, released_at=now,
        )
    )


def _urgent_accept(order: Order, offer: Offer, now: Any) -> str:
    """A yes to an urgent offer on a running order books at once while places are short."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    crew = crew_on_site(order.offers.all()).count()
    if crew >= order.headcount or now >= order.ends_at:
        states.offers_move(Offer.objects.filter(pk=offer.pk), to=Offer.State.RELEASED,
                           released_at=now)
        return "already_filled"
    states.offers_move(Offer.objects.filter(pk=offer.pk, state=Offer.State.OFFERED),
                       to=Offer.State.CONFIRMED, confirmed_at=now)
    return "urgent_booked"


def _reply(order: Order, key: str, language: str, now: Any) -> str:
    values = order_values(order, language)
    values["by"] = local_time(order, _batch_due(order, now), with_date=False)
    return texts.render(key, language, **values)


def _find_offer(worker: Any, code: str) -> Offer | None:
    """The worker's latest offer on order `code`, unless that order is over."""
    found = _offers(
        "{f_worker} = %s AND {o_code} = %s AND {o_status} NOT IN (%s, %s)",
        [worker.pk, code, Order.Status.COMPLETED, Order.Status.CANCELLED],
        "{f_id} DESC",
        limit=1,
    )
    return found[0] if found else None


def reconfirm(*, offer: Offer, now: Any) -> None:
    Offer.objects.filter(pk=offer.pk).update(reconfirmed_at=now)


def _client_feedback(inbound: handlers.Inbound) -> str | None:
    """A client's "1".."5" answering our latest request to score a completed crew, else None.

    Only the newest request counts, and only while it is recent (CLIENT_SCORE_ANSWERS_WITHIN):
    a second digit after it was answered is told the score stands, and never rates an older
    crew whose request went unanswered."""


    text = inbound.command.text.strip().strip(".!")
    if inbound.worker is not None or text not in {"1", "2", "3", "4", "5"}:
        return None
    asked = (
        Message.objects.filter(
            phone=inbound.phone, purpose="client_feedback", order__isnull=False,
            created_at__gte=inbound.now - CLIENT_SCORE_ANSWERS_WITHIN,
        )
        .select_related("order", "order__franchise", "order__site")
        .order_by("-created_at", "-id")
        .first()
    )
    if asked is None or asked.order is None:
        return None
    order = asked.order
    inbound.message.order = order
    inbound.message.save(update_fields=["order"])
    if not client_score_record(order=order, score=int(text)):
        order.refresh_from_db(fields=["client_score"])
        return texts.render("client_already_scored", "ru", score=order.client_score,
                            **order_values(order, "ru"))
    return texts.render("client_thanks", "ru", score=text, **order_values(order, "ru"))


def _unknown_sender(language: str) -> str:
    return messaging_text("unknown_sender", language)


def _handle_unknown(inbound: handlers.Inbound) -> str | None:
    reply = _client_feedback(inbound)
    if reply is not None:
        return reply
    if inbound.worker is None:
        return _unknown_sender(inbound.language)
    return messaging_text("not_understood", inbound.language)


def _handle_answer(  # noqa: PLR0911 - one answer per situation the worker may be in
    inbound: handlers.Inbound, *, accept: bool
) -> str | None:
    worker, language = inbound.worker, inbound.language
    if worker is None:
        return _client_feedback(inbound) or _unknown_sender(language)
    code = inbound.command.code
    if code is None:
        candidates = open_offers(worker)
        if not candidates:
            return texts.render("no_open_offer", language)
        if len(candidates) > 1:
            codes = ", ".join(o.order.code for o in candidates)
            first = candidates[0].order.code
            key = "which_offer" if accept else "which_offer_decline"
            return texts.render(key, language, codes=codes, first=first)
        offer = candidates[0]
    else:
        found = _find_offer(worker, code)
        if found is None:
            return texts.render("unknown_code", language, code=code)
        offer = found
    order = offer.order
    inbound.message.order = order
    inbound.message.save(update_fields=["order"])
    if accept and offer.state in (Offer.State.CONFIRMED, Offer.State.STANDBY):
        # "YES K7Q" from a booked worker answers a reminder.
        reconfirm(offer=offer, now=inbound.now)
        return texts.render("reconfirmed", language, **order_values(order, language))
    if not accept:
        reply = _take_back(offer, inbound)
        if reply is not None:
            return reply
    _, key = offer_respond(offer=offer, accept=accept, now=inbound.now)
    return _reply(order, key, language, inbound.now)


def _take_back(offer: Offer, inbound: handlers.Inbound) -> str | None:
    """The reply to a worker taking back a yes (a NO or CANCEL after YES), or None when the
    offer was never accepted (the NO is a plain decline)."""

    language, now = inbound.language, inbound.now
    if offer.state == Offer.State.OFFERED and offer.response == Offer.Response.ACCEPTED:
        if acceptance_withdraw(offer=offer, now=now):
            return texts.render("declined", language, **order_values(offer.order, language))
        offer.refresh_from_db(fields=["state"])  # booked by the batch meanwhile
    if offer.state in (Offer.State.CONFIRMED, Offer.State.STANDBY):
        return booking_withdraw(offer=offer, now=now, language=language)
    return None


def _handle_accept(inbound: handlers.Inbound) -> str | None:
    return _handle_answer(inbound, accept=True)


def _handle_decline(inbound: handlers.Inbound) -> str | None:
    return _handle_answer(inbound, accept=False)


def _booking_for(worker: Any, code: str | None, states: list[str]) -> Offer | None:
    """The worker's booking on order `code`, or their only current one when no code is given."""
    marks = ", ".join(["%s"] * len(states))
    where = f"{{f_worker}} = %s AND {{f_state}} IN ({marks}) AND {{o_status}} NOT IN (%s, %s)"
    params = [worker.pk, *states, Order.Status.CANCELLED, Order.Status.DRAFT]
    if code is not None:
        found = _offers(where + " AND {o_code} = %s", [*params, code], "{f_id} DESC", limit=1)
        return found[0] if found else None
    since = clock.now() - timedelta(days=7)
    current = _offers(where + " AND {o_ends_at} >= %s", [*params, since], "{f_id}", limit=2)
    return current[0] if len(current) == 1 else None


def _handle_check_in(inbound: handlers.Inbound) -> str | None:
    worker, language, code = inbound.worker, inbound.language, inbound.command.code
    if worker is None:
        return _unknown_sender(language)
    offer = _booking_for(worker, code, [Offer.State.CONFIRMED, Offer.State.STANDBY])
    if offer is None:
        return texts.render("not_on_crew", language, code=code or "?")
    order = offer.order
    inbound.message.order = order
    inbound.message.save(update_fields=["order"])
    result = check_in(order=order, worker=worker, now=inbound.now)
    values = order_values(order, language)
    if result.reason == "ok":
        offer.refresh_from_db()
        late = offer.attendance == Offer.Attendance.LATE
        return texts.render("checked_in_late" if late else "checked_in", language, **values)
    if result.reason == "too_early":
        opens = local_time(order, order.start - CHECK_IN_OPENS, with_date=False)
        return texts.render("check_in_too_early", language, opens=opens, **values)
    key = {"repeat": "check_in_repeat", "too_late": "check_in_too_late"}.get(
        result.reason, "not_on_crew"
    )
    return texts.render(key, language, **values)


def _handle_withdraw(inbound: handlers.Inbound) -> str | None:
    worker, language, code = inbound.worker, inbound.language, inbound.command.code
    if worker is None:
        return _unknown_sender(language)
    offer = _booking_for(worker, code, [Offer.State.CONFIRMED, Offer.State.STANDBY])
    if offer is None:
        # Not booked yet: withdrawing an open offer is declining it, or taking back a yes.
        open_offer = _find_offer(worker, code) if code else None
        if open_offer is not None and open_offer.state == Offer.State.OFFERED:
            inbound.message.order = open_offer.order
            inbound.message.save(update_fields=["order"])
            reply = _take_back(open_offer, inbound)
            if reply is None:
                _, key = offer_respond(offer=open_offer, accept=False, now=inbound.now)
                reply = _reply(open_offer.order, key, language, inbound.now)
            return reply
        return texts.render("no_open_offer", language)
    inbound.message.order = offer.order
    inbound.message.save(update_fields=["order"])
    return booking_withdraw(offer=offer, now=inbound.now, language=language)


def _handle_appeal(inbound: handlers.Inbound) -> str | None:
    worker, language, code = inbound.worker, inbound.language, inbound.command.code
    if worker is None:
        return _unknown_sender(language)
    # A no-show still standing first; else one already reversed on appeal (excused), so a
    # worker who asks again is told it was removed rather than that there was none.
    offer = None
    for attendance in (Offer.Attendance.NO_SHOW, Offer.Attendance.EXCUSED):
        offer = (
            Offer.objects.filter(worker=worker, attendance=attendance)
            .filter(**({"order__code": code} if code else {}))
            .select_related("order", "order__franchise", "order__site")
            .order_by("-order__start", "-id")
            .first()
        )
        if offer is not None:
            break
    if offer is None:
        return texts.render("appeal_not_possible", language, code=code or "?")
    inbound.message.order = offer.order
    inbound.message.save(update_fields=["order"])
    opened = appeal_open(offer=offer, text=inbound.command.text, now=inbound.now)
    decided = opened.appeal.status if opened.reason == "decided" and opened.appeal else None
    key = {
        "opened": "appeal_recorded",
        "pending": "appeal_recorded",
        "window_closed": "appeal_window_closed",
        "decided": ("appeal_already_reversed" if decided == Appeal.Status.REVERSED
                    else "appeal_already_upheld"),
    }.get(opened.reason, "appeal_not_possible")
    return texts.render(key, language, days=APPEAL_WINDOW.days,
                        **order_values(offer.order, language))


def register_handlers() -> None:
    hooks.inbound_commands.register(CommandKind.ACCEPT, _handle_accept)
    hooks.inbound_commands.register(CommandKind.DECLINE, _handle_decline)
    hooks.inbound_commands.register(CommandKind.CHECK_IN, _handle_check_in)
    hooks.inbound_commands.register(CommandKind.WITHDRAW, _handle_withdraw)
    hooks.inbound_commands.register(CommandKind.APPEAL, _handle_appeal)
    hooks.inbound_commands.register(CommandKind.UNKNOWN, _handle_unknown)
