"""Call-out: turn an order into waves of SMS offers until enough workers have accepted."""

import logging
import math
import secrets
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core import clock
from ratings.services import rating_params
from workers.models import Worker

from .. import states
from ..models import Offer, Order, Step
from ..overbooking import (
    adaptive_target,
    calibrated_show_probability,
    fixed_target,
    likely_first,
    wave_size,
)
from ..selectors import (
    RankedCandidate,
    ShowRates,
    candidates_for_order,
    observed_show_rates,
)
from .notify import notify_workers
from .steps import step_schedule

logger = logging.getLogger(__name__)


def _accepted_count(order: Order) -> int:
    return order.offers.filter(
        response=Offer.Response.ACCEPTED,
        state__in=[Offer.State.OFFERED, Offer.State.CONFIRMED, Offer.State.STANDBY],
    ).count()


def show_probabilities(order: Order, people: list[tuple[float, int]], now: Any
                       ) -> tuple[list[float], ShowRates]:
    """Each person's chance of turning up, given as (reliability, judged shifts), measured
    against the franchise's own people: its observed show rate stands in for the default a
    newcomer's reliability starts from. Also returns the observed rates."""
    params = rating_params()
    rates = observed_show_rates(franchise_id=order.franchise_id, now=now,
                                prior_rate=params.prior_show_rate)
    probabilities = [
        calibrated_show_probability(
            reliability, judged, base_rate=rates.base,
            prior_rate=params.prior_show_rate, prior_shifts=params.prior_shifts,
        )
        for reliability, judged in people
    ]
    return probabilities, rates


def adaptive_pool(headcount: int) -> int:
    """How many of the best candidates an adaptive order's booking target is reckoned from:
    no more than an order may be sent offers (`MAX_OFFERS_PER_ORDER`), since a target beyond
    that could never be booked; where even those fall short, the fixed rule takes over."""
    return max(headcount, int(settings.DISPATCH["MAX_OFFERS_PER_ORDER"]))


def likely_comers_first(order: Order, candidates: list[RankedCandidate], now: Any
                        ) -> list[RankedCandidate]:
    """An adaptive order offers first to those most likely to accept and to come (each one's
    record, a newcomer counted at the franchise's recent show rate); the house rule keeps the
    ranking by cost."""
    if order.overbook_policy != Order.Policy.ADAPTIVE or not candidates:
        return candidates
    shows, _ = show_probabilities(
        order, [(c.reliability, c.shifts_judged) for c in candidates], now)
    accepts = [c.accept_probability for c in candidates]
    return [candidates[index] for index in likely_first(accepts, shows)]


def _booking_target(order: Order, candidates: list[RankedCandidate], now: Any) -> int:
    if order.overbook_policy == Order.Policy.ADAPTIVE:
        target = adaptive_target(
            order.headcount,
            show_probabilities(order, [(c.reliability, c.shifts_judged) for c in candidates],
                               now)[0],
            settings.DISPATCH["ADAPTIVE_SHOW_TARGET"],
        )
        # With too few candidates in reach the fixed rule is the honest fallback.
        if target.reached:
            return target.booking_target
    return fixed_target(order.headcount, order.franchise.booking_ratio)


def _offer_validity(order: Order, now: Any) -> int:
    """Seconds an offer stays worth delivering: until the start, at most Twilio's 10 hours."""
    return max(60, min(36000, int((order.start - now).total_seconds())))


def _send_wave(order: Order, candidates: list[RankedCandidate], *, wave: int, now: Any) -> int:
    offers = [
        Offer(
            order=order,
            worker_id=c.worker_id,
            wave=wave,
            sent_at=now,
            token=secrets.token_urlsafe(16)[:22],
            distance_km=round(c.distance_km, 3),
            cost=round(c.cost, 4),
        )
        for c in candidates
    ]
    Offer.objects.bulk_create(offers, batch_size=500)
    Worker.objects.filter(pk__in=[c.worker_id for c in candidates]).update(
        offers_received=F("offers_received") + 1, last_offer_at=now
    )
    # Phones are read only for the few offered: parsing a phone number is the costliest part
    # of reading a row, and the ranking read thousands.
    phones = dict(
        Worker.objects.filter(pk__in=[c.worker_id for c in candidates]).values_list("id", "phone")
    )
    recipients = [(c.worker_id, str(phones[c.worker_id]), c.language) for c in candidates]
    validity = _offer_validity(order, now)
    if "link" in (order.franchise.reply_channels or []):
        base = settings.OFFER_LINK_BASE.rstrip("/")
        links = {offer.worker_id: {"link": f"{base}/o/{offer.token}"} for offer in offers}
        notify_workers(order, recipients, "offer_link", "offer", validity_period=validity,
                       per_worker=links)
    else:
        notify_workers(order, recipients, "offer", "offer", validity_period=validity)
    return len(offers)


def _wave(order: Order, *, now: Any) -> int:
    """Send the next wave if acceptances are short; returns the number of offers sent.

    A radius with nobody new in it does not cost a wave interval: the next radius is tried
    at once.
    """
    while True:
        sent = _one_wave(order, now=now)
        if sent != 0 or sent is None:
            return sent or 0
        if order.waves_sent >= len(settings.DISPATCH["WAVE_RADII_KM"]):
            return 0


def _one_wave(order: Order, *, now: Any) -> int | None:
    """One radius; None when no wave is wanted at all, 0 when the radius had nobody new."""
    config = settings.DISPATCH
    radii = config["WAVE_RADII_KM"]
    wave = order.waves_sent + 1
    if wave > len(radii) or order.start <= now:
        return None
    already = order.offers.count()
    cap = min(config["MAX_OFFERS_PER_ORDER"], config["MAX_OFFERS_PER_SLOT"] * order.booking_target)
    room = cap - already
    needed = order.booking_target - _accepted_count(order)
    if needed <= 0 or room <= 0:
        return None
    candidates = likely_comers_first(
        order, candidates_for_order(order, radius_km=radii[wave - 1], limit=room), now)
    # Offers of the last interval still unanswered may yet be accepted: count them in. Older
    # silence is mostly for good (most workers answer within minutes).
    recent = now - timedelta(minutes=config["WAVE_INTERVAL_MINUTES"])
    pending = list(
        order.offers.filter(response__isnull=True, state=Offer.State.OFFERED, sent_at__gte=recent)
        .values_list("worker__offers_received", "worker__offers_answered",
                     "worker__offers_accepted")
    )
    prior = config["PRIOR_WEIGHT"]
    expected_pending = sum(
        (answered + prior * config["PRIOR_REPLY_RATE"]) / (received + prior)
        * (accepted + prior * config["PRIOR_ACCEPT_RATE"]) / (answered + prior)
        for received, answered, accepted in pending
    ) * 0.5  # half: some of them have had their chance already
    size = wave_size(needed - expected_pending, [c.accept_probability for c in candidates])
    if size == 0 and candidates:
        # The offers still out are expected to cover what is short: wait for them rather
        # than spend this radius (the next timed wave looks again).
        return None
    if wave > 1:
        # A later wave is short of time: ask a few more than the expectation says.
        size = min(len(candidates), math.ceil(size * 1.25))
    chosen = candidates[:size]
    order.waves_sent = wave
    order.save(update_fields=["waves_sent"])
    if not chosen:
        logger.info("order %s: no more candidates within %s km", order.code, radii[wave - 1])
        return 0
    return _send_wave(order, chosen, wave=wave, now=now)


# Waves closer together than this give nobody time to answer the previous one.
MIN_WAVE_GAP = timedelta(minutes=1)


def _schedule_next_wave(order: Order, *, now: Any) -> None:
    """Schedule the next wave, if one could still go out: radii left, room under the
    per-order cap, and time for workers to answer before the start."""
    config = settings.DISPATCH
    if order.waves_sent >= len(config["WAVE_RADII_KM"]):
        return
    cap = min(config["MAX_OFFERS_PER_ORDER"], config["MAX_OFFERS_PER_SLOT"] * order.booking_target)
    if order.offers.count() >= cap:
        return
    interval = timedelta(minutes=config["WAVE_INTERVAL_MINUTES"])
    # An urgent order cannot wait a full interval: never later than halfway to the start.
    due = min(now + interval, now + (order.start - now) / 2)
    if due - now < MIN_WAVE_GAP:
        return
    step_schedule(kind=Step.Kind.WAVE, due_at=due, order=order)


@transaction.atomic
def callout_start(*, order: Order) -> Order:
    """Start calling workers for a draft order: booking target, wave 1, timed next steps."""
    now = clock.now()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
        .get(pk=order.pk)
    )
    if order.status in (Order.Status.CALLING, Order.Status.FILLED):
        raise ValidationError({"status": [_("The call-out has already started (%(status)s).")
                                          % {"status": order.status}]})
    if order.status != Order.Status.DRAFT:
        raise ValidationError({"status": [_("A %(status)s order is not called out.")
                                          % {"status": order.status}]})
    if order.start <= now:
        raise ValidationError({"start": [_("This order has already started.")]})
    first_radius = settings.DISPATCH["WAVE_RADII_KM"][0]
    if order.overbook_policy == Order.Policy.ADAPTIVE:
        widest = settings.DISPATCH["WAVE_RADII_KM"][-1]
        pool = candidates_for_order(order, radius_km=widest, limit=adaptive_pool(order.headcount))
        pool = likely_comers_first(order, pool, now)
        order.booking_target = _booking_target(order, pool, now)
    else:
        order.booking_target = fixed_target(order.headcount, order.franchise.booking_ratio)
    states.order_move(order, to=Order.Status.CALLING, also=["booking_target"],
                      calling_since=now)
    sent = _wave(order, now=now)
    logger.info("order %s: target %s, wave 1 to %s workers within %s km",
                order.code, order.booking_target, sent, first_radius)
    _schedule_next_wave(order, now=now)
    _schedule_reminders(order, now=now)
    return order


def _schedule_reminders(order: Order, *, now: Any) -> None:
    config = settings.DISPATCH
    local_start = order.start.astimezone(ZoneInfo(order.franchise.timezone))
    evening = (local_start - timedelta(days=1)).replace(
        hour=config["EVENING_REMINDER_HOUR"], minute=0, second=0, microsecond=0
    )
    final = order.start - timedelta(hours=config["FINAL_REMINDER_HOURS"])
    silence = order.start - timedelta(minutes=config["SILENCE_CHECK_MINUTES"])
    grace = order.start + timedelta(minutes=config["NO_SHOW_GRACE_MINUTES"])
    if evening > now and evening < final:
        step_schedule(kind=Step.Kind.REMINDER_EVENING, due_at=evening, order=order)
    if final > now:
        step_schedule(kind=Step.Kind.REMINDER_FINAL, due_at=final, order=order)
    if silence > now:
        step_schedule(kind=Step.Kind.SILENCE_CHECK, due_at=silence, order=order)
    step_schedule(kind=Step.Kind.NO_SHOW_CHECK, due_at=grace, order=order)


@transaction.atomic
def wave_next(*, order_id: int) -> int:
    """The timed next wave: sent only while the order is calling and acceptances are short."""
    now = clock.now()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
        .filter(pk=order_id)
        .first()
    )
    if order is None or order.status != Order.Status.CALLING:
        return 0
    sent = _wave(order, now=now)
    if _accepted_count(order) < order.booking_target:
        _schedule_next_wave(order, now=now)
    return sent


def order_refill(*, order: Order, now: Any) -> int:
    """A booked worker dropped out and no standby was left: the order calls again, one wave
    at the widest radius (within the per-order cap), and new acceptances join the next batch.
    The caller holds the order's lock."""
    if order.start <= now or order.status not in (Order.Status.FILLED, Order.Status.CALLING):
        return 0
    if order.status == Order.Status.FILLED:
        states.order_move(order, to=Order.Status.CALLING)
    radii = settings.DISPATCH["WAVE_RADII_KM"]
    if order.waves_sent >= len(radii):
        order.waves_sent = len(radii) - 1
    return _wave(order, now=now)


# An urgent wave is worth sending only while enough of the shift is left to be worth coming.
URGENT_MIN_REMAINING = timedelta(hours=2)
URGENT_RADIUS_KM = 20.0


def urgent_wave(*, order: Order, places: int, now: Any) -> int:
    """No-shows left the crew short and standby could not cover it: a short wave of "come now"
    offers to the nearest free workers. Yeses are booked at once, first come first served,
    up to the places still short (see replies.offer_respond). The caller holds the lock."""
    if places <= 0 or order.ends_at - now < URGENT_MIN_REMAINING:
        return 0
    room = settings.DISPATCH["MAX_OFFERS_PER_ORDER"] - order.offers.count()
    candidates = candidates_for_order(order, radius_km=URGENT_RADIUS_KM, limit=max(0, room))
    size = wave_size(places * 1.5, [c.accept_probability for c in candidates])
    chosen = candidates[:size]
    if not chosen:
        return 0
    order.waves_sent += 1
    order.save(update_fields=["waves_sent"])
    offers = [
        Offer(order=order, worker_id=c.worker_id, wave=order.waves_sent, sent_at=now,
              token=secrets.token_urlsafe(16)[:22], distance_km=round(c.distance_km, 3),
              cost=round(c.cost, 4))
        for c in chosen
    ]
    Offer.objects.bulk_create(offers, batch_size=500)
    phones = dict(Worker.objects.filter(pk__in=[c.worker_id for c in chosen])
                  .values_list("id", "phone"))
    notify_workers(
        order, [(c.worker_id, str(phones[c.worker_id]), c.language) for c in chosen],
        "urgent", "urgent_offer", validity_period=3600,
    )
    return len(chosen)


def offer_not_delivered(message: Any) -> int:
    """An offer SMS finally failed (a dead number, a landline, a carrier's refusal): the offer
    is withdrawn, since the worker never saw it, and the next candidate within the order's
    current radius is offered in its place. Returns the number of offers sent (0 or 1).

    Called through `core.hooks.delivery_failures` by messaging, from a send that failed for
    good or from Twilio's failed/undelivered status callback."""
    if message.order_id is None or message.worker_id is None:
        return 0
    now = clock.now()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
            .filter(pk=message.order_id).first()
        )
        if order is None:
            return 0
        withdrawn = states.offers_move(
            order.offers.filter(worker_id=message.worker_id, response__isnull=True,
                                state=Offer.State.OFFERED),
            to=Offer.State.CANCELLED, released_at=now,
        )
        still_calling = withdrawn and order.status == Order.Status.CALLING and order.start > now
        if (not still_calling or _accepted_count(order) >= order.booking_target
                or order.offers.count() >= settings.DISPATCH["MAX_OFFERS_PER_ORDER"]):
            return 0
        radii = settings.DISPATCH["WAVE_RADII_KM"]
        wave = min(max(order.waves_sent, 1), len(radii))
        candidates = candidates_for_order(order, radius_km=radii[wave - 1], limit=1)
        if not candidates:
            logger.info("order %s: the offer to worker %s was not delivered; nobody else "
                        "within %s km yet", order.code, message.worker_id, radii[wave - 1])
            return 0
        logger.info("order %s: the offer to worker %s was not delivered (%s); offered to "
                    "worker %s instead", order.code, message.worker_id, message.error_code,
                    candidates[0].worker_id)
        return _send_wave(order, candidates, wave=wave, now=now)
