"""The call-out's candidate search (`candidates_for_order`) against the rules written out in
Python: who is eligible, the cost each gets, the order they come in, and what one search costs
in queries."""

import random
import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.geo import GeoPoint, great_circle_km
from dispatch import selectors
from dispatch.models import ClientPreference, Offer, Order
from dispatch.selectors import candidates_for_order
from messaging.models import OptOut
from workers.models import Worker

from .conftest import NOW, START, Desk

pytestmark = pytest.mark.django_db

RADIUS_KM = 12.0
SKILL_SETS = (
    ["loading"], ["loading"], ["loading"], ["general"], ["loading", "foreman"], ["roofing"],
    ["moving"],
)
STATUSES = (Worker.Status.ACTIVE,) * 6 + (
    Worker.Status.APPLICANT, Worker.Status.SUSPENDED, Worker.Status.BLOCKED
)


def offer(order: Order, worker: Worker, state: str) -> Offer:
    return Offer.objects.create(
        order=order, worker=worker, state=state, sent_at=NOW, token=secrets.token_hex(8)
    )


def population(desk: Desk, rng: random.Random, size: int) -> dict[str, Any]:
    """Workers scattered up to 16 km around the site with random ratings, histories,
    statuses and skills (only active workers are always vetted); some opted out, blocked or
    favoured by the client, booked on other orders (overlapping or not) or already offered
    the order searched for."""
    workers = []
    for _ in range(size):
        status = rng.choice(STATUSES)
        workers += desk.workers(
            1, km=rng.uniform(-16, 16), east=rng.uniform(-16, 16),
            skills=rng.choice(SKILL_SETS), status=status,
            vetted_at=(
                None if status != Worker.Status.ACTIVE and rng.random() < 0.5
                else NOW - timedelta(days=9)
            ),
            rating=round(rng.uniform(1, 5), 2), reliability=round(rng.uniform(0.3, 1), 3),
            offers_received=(received := rng.randrange(0, 30)),
            offers_answered=(answered := rng.randrange(0, received + 1)),
            offers_accepted=rng.randrange(0, answered + 1),
            shifts_completed=rng.randrange(0, 8), no_shows=rng.randrange(0, 3),
            language=rng.choice(["ru", "en"]),
        )
    searched = desk.order(3)
    overlapping = desk.order(2, start=START + timedelta(hours=3))
    later = desk.order(2, start=START + timedelta(days=2))
    cancelled = desk.order(2)
    Order.objects.filter(pk=cancelled.pk).update(status=Order.Status.CANCELLED)
    picks = rng.sample(workers, k=len(workers) // 3)
    chunk = len(picks) // 6
    opted_out, blocked, favourite, busy, free, offered = (
        picks[i * chunk:(i + 1) * chunk] for i in range(6)
    )
    for worker in opted_out:
        OptOut.objects.create(phone=str(worker.phone), opted_out_at=NOW, keyword="STOP")
    for kind, chosen in ((ClientPreference.Kind.BLOCKED, blocked),
                         (ClientPreference.Kind.FAVOURITE, favourite)):
        for worker in chosen:
            ClientPreference.objects.create(client=desk.client, worker=worker, kind=kind)
    for worker in busy:
        offer(overlapping, worker, rng.choice([Offer.State.CONFIRMED, Offer.State.STANDBY]))
    for worker in free:  # booked but not at this time, released, or on a cancelled order
        choice = rng.randrange(3)
        if choice == 0:
            offer(later, worker, Offer.State.CONFIRMED)
        elif choice == 1:
            offer(overlapping, worker, Offer.State.RELEASED)
        else:
            offer(cancelled, worker, Offer.State.CONFIRMED)
    for worker in offered:
        offer(searched, worker, Offer.State.OFFERED)
    return {
        "workers": workers, "order": searched,
        "left_out": {w.pk for w in opted_out + blocked + busy + offered},
        "favourites": {w.pk for w in favourite},
    }


def by_the_rules(world: dict[str, Any], radius_km: float) -> list[tuple[int, float, float]]:
    """(worker id, km, cost) of every eligible worker, cheapest first, straight from the
    rules and the weights in settings."""
    order = world["order"]
    site = GeoPoint(order.site.lat, order.site.lng)
    weights = settings.DISPATCH["WEIGHTS"]
    bonus = settings.DISPATCH["FAVOURITE_BONUS"]
    found = []
    for worker in world["workers"]:
        km = great_circle_km(site, GeoPoint(worker.lat, worker.lng))
        if (
            worker.status != Worker.Status.ACTIVE
            or worker.vetted_at is None
            or not {"loading", "general"} & set(worker.skills)
            or worker.pk in world["left_out"]
            or km > radius_km
        ):
            continue
        cost = (
            km * weights["distance_per_km"]
            + (5 - worker.rating) * weights["rating_point"]
            + (1 - worker.reliability) * weights["unreliability"]
            - (bonus if worker.pk in world["favourites"] else 0.0)
        )
        found.append((worker.pk, km, cost))
    return sorted(found, key=lambda row: (row[2], row[0]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_search_returns_exactly_the_eligible_workers_cheapest_first(
    desk: Desk, seed: int
) -> None:
    world = population(desk, random.Random(seed), 150)
    expected = by_the_rules(world, RADIUS_KM)
    assert len(expected) >= 20  # the instance leaves something to rank

    found = candidates_for_order(world["order"], radius_km=RADIUS_KM)

    assert [c.worker_id for c in found] == [row[0] for row in expected]
    for candidate, (_, km, cost) in zip(found, expected, strict=True):
        assert candidate.distance_km == pytest.approx(km, rel=1e-9)
        assert candidate.cost == pytest.approx(cost, rel=1e-9, abs=1e-9)
        assert candidate.is_favourite == (candidate.worker_id in world["favourites"])


def test_a_limit_keeps_the_cheapest_and_excluded_workers_are_left_out(desk: Desk) -> None:
    world = population(desk, random.Random(7), 150)
    expected = [row[0] for row in by_the_rules(world, RADIUS_KM)]

    assert [c.worker_id for c in candidates_for_order(world["order"], radius_km=RADIUS_KM,
                                                      limit=5)] == expected[:5]
    skipped = set(expected[1:4])
    kept = candidates_for_order(world["order"], radius_km=RADIUS_KM,
                                exclude_worker_ids=skipped, limit=6)
    assert [c.worker_id for c in kept] == [pk for pk in expected if pk not in skipped][:6]


def test_what_a_candidate_carries_comes_from_the_worker(desk: Desk) -> None:
    foreman = desk.worker(3, skills=["loading", "foreman"], language="en", rating=4.5,
                          reliability=0.9, offers_received=10, offers_answered=8,
                          offers_accepted=4, shifts_completed=2, no_shows=1)

    (found,) = candidates_for_order(desk.order(1), radius_km=10)

    assert found.worker_id == foreman.pk
    assert (found.rating, found.reliability, found.language) == (4.5, 0.9, "en")
    assert found.is_foreman
    assert not found.is_favourite
    assert found.shifts_judged == 3
    assert found.is_newcomer == (settings.DISPATCH["NEWCOMER_MAX_SHIFTS"] > 2)
    config = settings.DISPATCH
    prior = config["PRIOR_WEIGHT"]
    reply = (8 + prior * config["PRIOR_REPLY_RATE"]) / (10 + prior)
    accept = (4 + prior * config["PRIOR_ACCEPT_RATE"]) / (8 + prior)
    assert found.accept_probability == pytest.approx(reply * accept)


def test_one_query_however_many_workers_live_around(desk: Desk) -> None:
    order = desk.order(2)
    desk.workers(3, km=2)
    with CaptureQueriesContext(connection) as few:
        assert len(candidates_for_order(order, radius_km=10)) == 3
    desk.workers(60, km=4)
    ClientPreference.objects.create(
        client=desk.client, worker=desk.worker(1), kind=ClientPreference.Kind.FAVOURITE
    )
    with CaptureQueriesContext(connection) as many:
        assert len(candidates_for_order(order, radius_km=10)) == 64
    assert len(few) == len(many) == 1


def test_the_database_keeps_the_cheapest_when_far_more_are_eligible(desk: Desk) -> None:
    # The query returns only the cheapest few dozen beyond `limit`, ranked by its own
    # estimate of the cost: distance, rating and reliability must all count in it.
    desk.workers(60, km=1, rating=5.0, reliability=0.3)  # near but unreliable: 8
    desk.workers(60, km=1.5, rating=1.5, reliability=1.0)  # near but poorly rated: 8.5
    desk.workers(60, km=9, rating=5.0, reliability=1.0)  # reliable, well rated, far: 9
    best = desk.workers(4, km=6, rating=5.0, reliability=1.0)  # 6

    found = candidates_for_order(desk.order(1), radius_km=10, limit=4)

    assert {c.worker_id for c in found} == {w.pk for w in best}


def test_a_booking_that_ends_as_the_shift_starts_does_not_make_a_worker_busy(
    desk: Desk
) -> None:
    before, after, overlapping = desk.worker(2), desk.worker(2), desk.worker(2)
    order = desk.order(2, start=START, hours=6)
    offer(desk.order(1, start=START - timedelta(hours=5), hours=5), before,
          Offer.State.CONFIRMED)
    offer(desk.order(1, start=START + timedelta(hours=6), hours=4), after,
          Offer.State.CONFIRMED)
    offer(desk.order(1, start=START + timedelta(hours=5), hours=4), overlapping,
          Offer.State.STANDBY)

    found = {c.worker_id for c in candidates_for_order(order, radius_km=10)}

    assert found == {before.pk, after.pk}


@pytest.mark.parametrize(
    ("ratings", "limit", "queries"),
    [
        # The cheapest 56 rows (limit 5 and the SQL's margin) all cost less than anyone
        # outside the first ring could: that ring alone answers.
        ((4.0, 5.0), 5, 1),
        # Poorly rated neighbours cost more than a far worker might: a second, wider ring
        # (sized by the first ring's cut) settles it.
        ((1.0, 2.5), 5, 2),
        # More rows wanted than the first ring holds: the whole radius is read.
        ((4.0, 5.0), 60, 2),
    ],
)
def test_a_wide_search_read_ring_first_finds_what_one_box_finds(
    desk: Desk, monkeypatch: Any, ratings: tuple[float, float], limit: int, queries: int
) -> None:
    rng = random.Random(11)
    for _ in range(120):
        desk.worker(rng.uniform(0, 4), east=rng.uniform(-4, 4), rating=rng.uniform(*ratings),
                    reliability=rng.uniform(0.7, 1.0))
    for _ in range(40):
        desk.worker(rng.uniform(10, 24), east=rng.uniform(-5, 5),
                    rating=rng.uniform(4.5, 5.0), reliability=1.0)
    far_favourite = desk.worker(12, rating=5.0, reliability=1.0)
    ClientPreference.objects.create(
        client=desk.client, worker=far_favourite, kind=ClientPreference.Kind.FAVOURITE
    )
    order = desk.order(1)
    assert selectors.FIRST_RING_KM < 25

    with CaptureQueriesContext(connection) as captured:
        found = candidates_for_order(order, radius_km=25, limit=limit)
    monkeypatch.setattr(selectors, "FIRST_RING_KM", 1000.0)
    with CaptureQueriesContext(connection) as one_box:
        expected = candidates_for_order(order, radius_km=25, limit=limit)

    assert found == expected
    assert len(found) == limit
    assert (len(captured), len(one_box)) == (queries, 1)


def test_a_favourite_beyond_the_first_ring_is_not_missed(desk: Desk) -> None:
    # Neighbours 3-4 km away, poorly rated (cost 9-10); a favourite just beyond the first
    # ring, whose bonus makes it the cheapest (7.5). The first ring's cut costs less than
    # 10 km, but not less than 10 km minus the bonus: the search must look further.
    rng = random.Random(5)
    for _ in range(120):
        desk.worker(rng.uniform(3, 4), east=rng.uniform(-1, 1), rating=2.0, reliability=1.0)
    favourite = desk.worker(selectors.FIRST_RING_KM + 0.5, rating=5.0, reliability=1.0)
    ClientPreference.objects.create(
        client=desk.client, worker=favourite, kind=ClientPreference.Kind.FAVOURITE
    )

    found = candidates_for_order(desk.order(1), radius_km=25, limit=5)

    assert found[0].worker_id == favourite.pk
