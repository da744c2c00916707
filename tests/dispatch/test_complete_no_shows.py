"""Completing an order before start + grace marks the absent as no-shows, as the check would
have: completion cancels the check, and must not excuse anyone."""

from datetime import timedelta
from typing import Any

from rest_framework.test import APIClient

from dispatch.models import Offer
from dispatch.services.lifecycle import no_show_check
from ratings.models import RatingEvent
from tests.dispatch.conftest import START, Desk, set_dispatch
from tests.dispatch.test_onsite import attendance, booked, complete, figures, present

GRACE = timedelta(minutes=30)


def no_show_events(worker: Any) -> int:
    return RatingEvent.objects.filter(worker=worker, kind="no_show",
                                      reversed_at__isnull=True).count()


class TestCompletionBeforeTheCheck:
    def test_the_absent_become_no_shows_at_once(self, desk: Desk, spb_api: APIClient) -> None:
        order, (came, absent, also_absent), _ = booked(desk)
        fresh = figures(absent)
        desk.at(START - timedelta(minutes=5))
        desk.reply(came, f"HERE {order.code}")
        desk.at(START + timedelta(seconds=4))

        response = complete(spb_api, order)

        assert response.status_code == 200, response.content
        assert response.json()["counts"]["no_show"] == 2
        for worker in (absent, also_absent):
            assert desk.offer(order, worker).attendance == Offer.Attendance.NO_SHOW
            rating, reliability, no_shows, _ = figures(worker)
            assert rating < fresh[0] - 1
            assert reliability < fresh[1]
            assert no_shows == 1
        assert desk.offer(order, came).attendance == Offer.Attendance.PRESENT
        assert figures(came)[2] == 0

    def test_the_check_running_later_records_no_second_no_show(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, (came, absent, _), _ = booked(desk)
        desk.at(START + timedelta(minutes=1))
        desk.reply(came, f"HERE {order.code}")
        assert complete(spb_api, order).status_code == 200
        after = figures(absent)

        desk.sweep(at=START + GRACE)
        desk.at(START + GRACE + timedelta(minutes=5))
        assert no_show_check(order_id=order.pk) == 0

        assert no_show_events(absent) == 1
        assert figures(absent) == after

    def test_completion_after_the_check_marks_nobody_twice(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, (came, absent, _), _ = booked(desk)
        desk.at(START)
        desk.reply(came, f"HERE {order.code}")
        desk.sweep(at=START + GRACE)
        assert no_show_events(absent) == 1

        desk.at(START + timedelta(hours=6))
        assert complete(spb_api, order).status_code == 200

        assert no_show_events(absent) == 1

    def test_standby_workers_never_called_in_are_not_no_shows(
        self, desk: Desk, spb_api: APIClient, settings: Any
    ) -> None:
        set_dispatch(settings, STANDBY_SHARE=1.0)
        order, crew, standby = booked(desk, standby=1)
        desk.at(START)
        for worker in crew:
            desk.reply(worker, f"HERE {order.code}")
        desk.at(START + timedelta(minutes=10))

        assert complete(spb_api, order).status_code == 200

        assert desk.offer(order, standby[0]).attendance is None
        assert no_show_events(standby[0]) == 0

    def test_the_foreman_can_still_correct_a_no_show_marked_at_completion(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, (came, late_arrival, _), _ = booked(desk)
        desk.at(START + timedelta(minutes=1))
        desk.reply(came, f"HERE {order.code}")
        assert complete(spb_api, order).status_code == 200

        response = attendance(spb_api, order, [present(late_arrival, "late", hours=5)])

        assert response.status_code == 200, response.content
        assert desk.offer(order, late_arrival).attendance == Offer.Attendance.LATE
        assert no_show_events(late_arrival) == 0
