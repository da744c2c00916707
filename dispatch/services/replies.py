"""Workers' answers to offers, arriving as SMS commands (or through the one-tap link)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from config import clock
from messaging import handlers
from messaging.grammar import CommandKind
from workers.models import Worker

from .. import texts
from ..models import Offer, Order, Step
from .notify import local_time, order_values
from .steps import step_schedule


def open_offers(worker: Any) -> list[Offer]:
    """Offers the worker may still answer: offered, unanswered, on orders still calling."""
    return list(
        Offer.objects.filter(
            worker=worker,
            state=Offer.State.OFFERED,
            response__isnull=True,
            order__status=Order.Status.CALLING,
        )
        .select_related("order", "order__franchise", "order__site")
        .order_by("order__start", "id")
    )


def _batch_due(order: Order, now: Any) -> Any:
    window = timedelta(minutes=settings.DISPATCH["BATCH_WINDOW_MINUTES"])
    # An urgent order is assigned sooner: never later than a tenth of the time to its start.
    return min(now + window, now + (order.start - now) / 10)


@transaction.atomic
def offer_respond(*, offer: Offer, accept: bool, now: Any = None) -> tuple[Offer, str]:
    """Record a worker's yes or no to an offer; returns the offer and the text key to answer.

    The first answer counts; a repeat of the same answer is acknowledged again, a change of
    mind after a yes goes through withdrawal instead. A yes is not yet a booking: it joins the
    franchise's next batch assignment, due within a short window.
    """
    now = now or clock.now()
    offer = Offer.objects.select_related("order", "order__franchise").get(pk=offer.pk)
    order = offer.order
    response = Offer.Response.ACCEPTED if accept else Offer.Response.DECLINED
    claimed = Offer.objects.filter(pk=offer.pk, response__isnull=True).update(
        response=response, responded_at=now
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
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.RELEASED, released_at=now)
        return offer, "declined"
    if order.status != Order.Status.CALLING or offer.state != Offer.State.OFFERED:
        Offer.objects.filter(pk=offer.pk, state=Offer.State.OFFERED).update(
            state=Offer.State.RELEASED, released_at=now
        )
        return offer, "already_filled"
    step_schedule(kind=Step.Kind.ASSIGN, due_at=_batch_due(order, now), franchise=order.franchise)
    return offer, "accepted"


def _reply(order: Order, key: str, language: str, now: Any) -> str:
    values = order_values(order, language)
    values["by"] = local_time(order, _batch_due(order, now), with_date=False)
    return texts.render(key, language, **values)


def _find_offer(worker: Any, code: str) -> Offer | None:
    return (
        Offer.objects.filter(worker=worker, order__code=code)
        .exclude(order__status__in=[Order.Status.COMPLETED, Order.Status.CANCELLED])
        .select_related("order", "order__franchise", "order__site")
        .order_by("-id")
        .first()
    )


def reconfirm(*, offer: Offer, now: Any) -> None:
    Offer.objects.filter(pk=offer.pk).update(reconfirmed_at=now)


def _handle_answer(  # noqa: PLR0911 - one answer per situation the worker may be in
    inbound: handlers.Inbound, *, accept: bool
) -> str | None:
    worker, language = inbound.worker, inbound.language
    if worker is None:
        from messaging.texts import render as messaging_text

        return messaging_text("unknown_sender", language)
    code = inbound.command.code
    if code is None:
        candidates = open_offers(worker)
        if not candidates:
            return texts.render("no_open_offer", language)
        if len(candidates) > 1:
            codes = ", ".join(o.order.code for o in candidates)
            first = candidates[0].order.code
            return texts.render("which_offer", language, codes=codes, first=first)
        offer = candidates[0]
    else:
        offer = _find_offer(worker, code)
        if offer is None:
            return texts.render("unknown_code", language, code=code)
    order = offer.order
    inbound.message.order = order
    inbound.message.save(update_fields=["order"])
    if accept and offer.state in (Offer.State.CONFIRMED, Offer.State.STANDBY):
        # "YES K7Q" from a booked worker answers a reminder.
        reconfirm(offer=offer, now=inbound.now)
        return texts.render("reconfirmed", language, **order_values(order, language))
    if not accept and offer.state in (Offer.State.CONFIRMED, Offer.State.STANDBY):
        from .attendance import booking_withdraw

        return booking_withdraw(offer=offer, now=inbound.now, language=language)
    _, key = offer_respond(offer=offer, accept=accept, now=inbound.now)
    return _reply(order, key, language, inbound.now)


def _handle_accept(inbound: handlers.Inbound) -> str | None:
    return _handle_answer(inbound, accept=True)


def _handle_decline(inbound: handlers.Inbound) -> str | None:
    return _handle_answer(inbound, accept=False)


def register_handlers() -> None:
    handlers.register(CommandKind.ACCEPT, _handle_accept)
    handlers.register(CommandKind.DECLINE, _handle_decline)
