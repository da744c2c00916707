"""No-shows: the check at start + grace, standby called in, appeals and their decisions."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from dispatch.models import Appeal, Offer, Order
from dispatch.services.lifecycle import no_show_check
from messaging.models import Message
from ratings import scoring
from ratings.models import RatingEvent
from ratings.services import rating_event_record, rating_params
from tests.dispatch.conftest import START, Desk, set_dispatch
from workers.models import Worker

END = START + timedelta(hours=6)
GRACE = timedelta(minutes=30)


def figures(worker: Worker) -> tuple[float, float, int, int]:
    worker.refresh_from_db()
    return worker.rating, worker.reliability, worker.no_shows, worker.shifts_completed


def no_show_events(worker: Worker) -> int:
    return RatingEvent.objects.filter(
        worker=worker, kind="no_show", reversed_at__isnull=True
    ).count()


def crew_of_three(desk: Desk, **worker_fields: Any) -> tuple[Order, list[Worker]]:
    workers = desk.workers(3, language="en", **worker_fields)
    order = desk.book(desk.order(2), workers)
    assert desk.in_state(order, Offer.State.CONFIRMED) == {w.pk for w in workers}
    return order, workers


class TestNoShowCheck:
    def test_absent_workers_become_no_shows_at_start_plus_grace(self, desk: Desk) -> None:
        order, (came, absent, also_absent) = crew_of_three(desk)
        fresh = figures(absent)
        desk.at(START - timedelta(minutes=10))
        desk.reply(came, f"HERE {order.code}")

        desk.sweep(at=START + GRACE - timedelta(minutes=1))
        assert not Offer.objects.filter(order=order, attendance="no_show").exists()

        desk.sweep(at=START + GRACE)
        assert {o.worker_id for o in Offer.objects.filter(order=order, attendance="no_show")} \
            == {absent.pk, also_absent.pk}
        for worker in (absent, also_absent):
            rating, reliability, no_shows, _ = figures(worker)
            assert rating < fresh[0] - 1  # a no-show costs more than a star at once
            assert reliability < fresh[1]
            assert no_shows == 1
        assert figures(came)[2] == 0
        assert desk.offer(order, came).attendance == "present"
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS

    def test_running_the_check_twice_records_one_no_show_per_worker(
        self, desk: Desk, settings: Any
    ) -> None:
        set_dispatch(settings, STANDBY_SHARE=1.0)
        workers = desk.workers(5, language="en")
        order = desk.book(desk.order(2), workers)
        assert len(desk.in_state(order, Offer.State.STANDBY)) == 2
        confirmed = desk.in_state(order, Offer.State.CONFIRMED)

        desk.sweep(at=START + GRACE)
        first = {worker.pk: figures(worker) for worker in workers}
        desk.at(START + GRACE + timedelta(minutes=20))
        assert no_show_check(order_id=order.pk) == 0

        for worker in workers:
            assert no_show_events(worker) == (1 if worker.pk in confirmed else 0)
            assert figures(worker) == first[worker.pk]
        # The two standby workers called in for the gap are on their way, not absent.
        called = desk.told(order, "standby_call")
        assert len(called) == 2
        for worker_id in called:
            offer = Offer.objects.get(order=order, worker_id=worker_id)
            assert offer.state == Offer.State.CONFIRMED
            assert offer.attendance is None

    def test_standby_workers_are_called_for_the_shortfall_best_first(
        self, desk: Desk, settings: Any
    ) -> None:
        set_dispatch(settings, STANDBY_SHARE=1.0)
        crew = desk.workers(3, km=1, language="en")
        near = desk.worker(km=3, language="en")
        far = desk.worker(km=8, language="en")
        order = desk.book(desk.order(2), [*crew, near, far])
        assert desk.in_state(order, Offer.State.STANDBY) == {near.pk, far.pk}
        desk.at(START)
        desk.reply(crew[0], f"HERE {order.code}")

        desk.sweep(at=START + GRACE)

        # One worker of the two needed came: one standby is called, the nearer one.
        assert desk.told(order, "standby_call") == {near.pk}
        assert desk.offer(order, near).state == Offer.State.CONFIRMED
        assert desk.offer(order, far).state == Offer.State.STANDBY
        assert order.code in desk.texts(order, "standby_call")[near.pk][0]

    def test_no_standby_is_called_when_enough_came(self, desk: Desk, settings: Any) -> None:
        set_dispatch(settings, STANDBY_SHARE=1.0)
        workers = desk.workers(4, language="en")
        order = desk.book(desk.order(2), workers)
        crew = [w for w in workers if w.pk in desk.in_state(order, Offer.State.CONFIRMED)]
        desk.at(START + timedelta(minutes=5))
        for worker in crew[:2]:
            desk.reply(worker, f"HERE {order.code}")

        desk.sweep(at=START + GRACE)

        assert no_show_events(crew[2]) == 1
        assert desk.told(order, "standby_call") == set()


# --- Appeals ------------------------------------------------------------------------------------


def appeal_url(appeal: Appeal, action: str = "") -> str:
    return f"/api/v1/appeals/{appeal.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def absent_pair(desk: Desk) -> tuple[Order, Worker, Worker, Worker]:
    """A crew whose second and third workers were no-shows; the second has a twin with the same
    earlier record who was never on this order."""
    twin = desk.worker(km=9, language="en", skills=["cleaning"])
    order, (came, absent, other) = crew_of_three(desk)
    earlier = desk.clock.current
    for worker in (absent, twin):
        rating_event_record(worker=worker, kind="show", order_ref=0, at=earlier)
        rating_event_record(worker=worker, kind="score", order_ref=0, score=5,
                            source="foreman", at=earlier)
    desk.at(START)
    desk.reply(came, f"HERE {order.code}")
    desk.sweep(at=START + GRACE)
    assert no_show_events(absent) == no_show_events(other) == 1
    return order, absent, other, twin


class TestAppealBySms:
    def test_an_appeal_within_five_days_is_opened(
        self, desk: Desk, absent_pair: tuple[Order, Worker, Worker, Worker]
    ) -> None:
        order, absent, _, _ = absent_pair
        desk.at(END + timedelta(days=4, hours=23))
        reply = desk.reply(absent, f"appeal {order.code}").reply
        assert order.code in reply
        assert "received" in reply.lower()
        appeal = Appeal.objects.get()
        assert appeal.offer == desk.offer(order, absent)
        assert appeal.status == Appeal.Status.PENDING

    def test_an_appeal_with_a_reason_keeps_the_reason_for_the_franchise(
        self, desk: Desk, absent_pair: tuple[Order, Worker, Worker, Worker]
    ) -> None:
        order, absent, _, _ = absent_pair
        desk.at(END + timedelta(hours=2))
        body = f"APPEAL {order.code} I was there at 9, the foreman did not mark me"
        reply = desk.reply(absent, body).reply
        assert "received" in reply.lower()
        appeal = Appeal.objects.get()
        assert appeal.offer == desk.offer(order, absent)
        assert "the foreman did not mark me" in appeal.text

    def test_an_appeal_after_the_window_is_not_opened(
        self, desk: Desk, absent_pair: tuple[Order, Worker, Worker, Worker]
    ) -> None:
        order, absent, _, _ = absent_pair
        desk.at(END + timedelta(days=5, minutes=1))
        reply = desk.reply(absent, f"APPEAL {order.code}").reply
        assert "received" not in reply.lower()
        assert not Appeal.objects.exists()

    def test_a_worker_who_came_has_nothing_to_appeal(self, desk: Desk) -> None:
        order, (came, _, _) = crew_of_three(desk)
        desk.at(START)
        desk.reply(came, f"HERE {order.code}")
        desk.sweep(at=START + GRACE)
        reply = desk.reply(came, f"APPEAL {order.code}").reply
        assert "no no-show" in reply.lower()
        assert not Appeal.objects.exists()


def appealed(desk: Desk, order: Order, worker: Worker) -> Appeal:
    desk.at(END + timedelta(days=1))
    desk.reply(worker, f"APPEAL {order.code}")
    return Appeal.objects.get(offer__worker=worker)


class TestDecide:
    def test_reversing_restates_the_worker_as_if_the_no_show_never_happened(
        self, desk: Desk, spb_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, other, twin = absent_pair
        appeal = appealed(desk, order, absent)
        other_before = figures(other)
        desk.at(END + timedelta(days=2))

        response = spb_api.post(appeal_url(appeal, "decide"), {"decision": "reverse"},
                                format="json")

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "reversed"
        assert figures(absent) == figures(twin)
        standing = RatingEvent.objects.filter(worker=absent, reversed_at__isnull=True)
        replayed = scoring.replay(
            [scoring.Event(e.kind, e.at, e.score, e.source or None) for e in standing],
            rating_params(),
        )
        now = clock.now()
        assert figures(absent) == (
            scoring.rating_at(replayed, now), replayed.reliability, 0, 1
        )
        assert desk.offer(order, absent).attendance == Offer.Attendance.EXCUSED
        assert figures(other) == other_before
        texts = desk.texts(order, "appeal")
        assert list(texts) == [absent.pk]
        assert "removed" in texts[absent.pk][0]

    def test_upholding_tells_the_worker_and_keeps_the_figures(
        self, desk: Desk, spb_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, _, _ = absent_pair
        appeal = appealed(desk, order, absent)
        before = figures(absent)

        response = spb_api.post(appeal_url(appeal, "decide"),
                                {"decision": "uphold", "notes": "The foreman saw nobody."},
                                format="json")

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "upheld"
        assert figures(absent) == before
        assert no_show_events(absent) == 1
        texts = desk.texts(order, "appeal")
        assert list(texts) == [absent.pk]
        assert "stands" in texts[absent.pk][0]

    def test_an_appeal_is_decided_once(
        self, desk: Desk, hq_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, _, _ = absent_pair
        appeal = appealed(desk, order, absent)
        url = appeal_url(appeal, "decide")
        assert hq_api.post(url, {"decision": "uphold"}, format="json").status_code == 200
        before = figures(absent)

        second = hq_api.post(url, {"decision": "reverse"}, format="json")

        assert second.status_code == 400
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.UPHELD
        assert figures(absent) == before
        assert len(desk.texts(order, "appeal")[absent.pk]) == 1

    def test_a_bad_decision_is_a_400(
        self, desk: Desk, spb_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, _, _ = absent_pair
        appeal = appealed(desk, order, absent)
        response = spb_api.post(appeal_url(appeal, "decide"), {"decision": "maybe"},
                                format="json")
        assert response.status_code == 400
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.PENDING

    def test_another_franchise_cannot_see_or_decide_the_appeal(
        self, desk: Desk, spb_api: APIClient, nsk_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, _, _ = absent_pair
        appeal = appealed(desk, order, absent)

        listed = spb_api.get("/api/v1/appeals/").json()
        assert [(row["id"], row["worker"], row["order_code"]) for row in listed["results"]] \
            == [(appeal.pk, absent.pk, order.code)]
        assert nsk_api.get("/api/v1/appeals/").json()["count"] == 0
        assert nsk_api.get(appeal_url(appeal)).status_code == 404
        decided = nsk_api.post(appeal_url(appeal, "decide"), {"decision": "reverse"},
                               format="json")
        assert decided.status_code == 404
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.PENDING
        assert no_show_events(absent) == 1

    def test_a_foreman_cannot_decide_appeals(
        self, desk: Desk, foreman_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, _, _ = absent_pair
        appeal = appealed(desk, order, absent)
        response = foreman_api.post(appeal_url(appeal, "decide"), {"decision": "reverse"},
                                    format="json")
        assert response.status_code in (403, 404)
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.PENDING

    def test_attendance_may_still_be_taken_after_a_reversal(
        self, desk: Desk, spb_api: APIClient,
        absent_pair: tuple[Order, Worker, Worker, Worker],
    ) -> None:
        order, absent, _, twin = absent_pair
        appeal = appealed(desk, order, absent)
        spb_api.post(appeal_url(appeal, "decide"), {"decision": "reverse"}, format="json")

        response = spb_api.post(f"/api/v1/orders/{order.pk}/attendance/",
                                [{"worker": absent.pk, "status": "present", "hours": 6}],
                                format="json")

        assert response.status_code == 200, response.content
        assert desk.offer(order, absent).attendance == "present"
        rating_event_record(worker=twin, kind="show", order_ref=order.pk)
        assert figures(absent) == figures(twin)


def test_a_shortfall_beyond_standby_sends_an_urgent_wave_booked_first_come(desk: Any) -> None:
    """No standby and two no-shows: nearby free workers get "come now" offers, and the
    first yes is booked at once while the crew is short."""


    desk.franchise.booking_ratio = Decimal("1.0")
    desk.franchise.save()
    crew = desk.workers(2, km=1)
    order = desk.book(desk.order(2), crew)
    desk.at(order.start + timedelta(minutes=31))
    fresh = desk.workers(3, km=2)
    no_show_check(order_id=order.pk)
    urgent = set(Message.objects.filter(order=order, purpose="urgent_offer")
                 .values_list("worker_id", flat=True))
    assert urgent <= {w.pk for w in fresh}
    assert urgent
    first = min(urgent)
    assert "ТУТ" in desk.reply(next(w for w in fresh if w.pk == first),
                               f"ДА {order.code}").reply
    assert Offer.objects.get(order=order, worker_id=first).state == Offer.State.CONFIRMED
