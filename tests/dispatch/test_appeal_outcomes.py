"""What a worker who appeals a no-show is told and left with: a reversal lifts the suspension
that no-show caused (and the SMS says what is true), and APPEAL after a decision or after the
window says so instead of promising a review or denying the no-show."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from dispatch.models import Appeal, Offer, Order
from messaging.segments import count_segments
from ratings.services import rating_event_record
from tests.dispatch.conftest import START, Desk
from workers.models import Worker

END = START + timedelta(hours=6)
GRACE = timedelta(minutes=30)


def crew_with_absentee(desk: Desk, language: str = "en", *, earlier_no_shows: int = 1,
                       ) -> tuple[Order, Worker]:
    """A crew of three: one comes, `absent` does not. Before the shift `absent` already had
    `earlier_no_shows` no-shows elsewhere this month, so this one (at start + grace) is the
    second (or later) within 30 days."""
    workers = desk.workers(3, language=language)
    order = desk.book(desk.order(2), workers)
    came, absent, other = workers
    for ref in range(earlier_no_shows):
        rating_event_record(worker=absent, kind="no_show", order_ref=-1 - ref)
    desk.at(START)
    desk.reply(came, f"HERE {order.code}")
    desk.reply(other, f"HERE {order.code}")
    desk.sweep(at=START + GRACE)
    assert desk.offer(order, absent).attendance == Offer.Attendance.NO_SHOW
    return order, absent


def status(worker: Worker) -> str:
    worker.refresh_from_db()
    return worker.status


def decide(desk: Desk, api: APIClient, order: Order, worker: Worker, decision: str) -> str:
    """The worker appeals by SMS a day after the shift; the office decides a day later.
    Returns the SMS the worker gets about the decision."""
    desk.at(END + timedelta(days=1))
    received = desk.reply(worker, f"APPEAL {order.code}").reply.lower()
    assert "received" in received or "принята" in received
    appeal = Appeal.objects.get(offer__worker=worker)
    desk.at(END + timedelta(days=2))
    response = api.post(f"/api/v1/appeals/{appeal.pk}/decide/", {"decision": decision},
                        format="json")
    assert response.status_code == 200, response.content
    return desk.texts(order, "appeal")[worker.pk][-1]


class TestReversalAndSuspension:
    def test_the_reversal_lifts_the_suspension_that_no_show_caused(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, absent = crew_with_absentee(desk)
        assert status(absent) == Worker.Status.SUSPENDED  # two no-shows within 30 days

        text = decide(desk, spb_api, order, absent, "reverse")

        assert status(absent) == Worker.Status.ACTIVE
        assert absent.no_shows == 1
        assert "take jobs again" in text
        assert spb_api.get(f"/api/v1/workers/{absent.pk}/").json()["status"] == "active"

    def test_the_worker_can_be_offered_work_again(self, desk: Desk, spb_api: APIClient) -> None:
        order, absent = crew_with_absentee(desk)
        decide(desk, spb_api, order, absent, "reverse")

        later = desk.called(1, start=END + timedelta(days=4))

        assert absent.pk in desk.offered(later)

    def test_a_suspension_set_by_hand_stays_and_the_sms_says_a_recruiter_decides(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, absent = crew_with_absentee(desk, language="ru", earlier_no_shows=0)
        assert status(absent) == Worker.Status.ACTIVE
        absent.status = Worker.Status.SUSPENDED  # a recruiter, in the admin, for another reason
        absent.save()

        text = decide(desk, spb_api, order, absent, "reverse")

        assert status(absent) == Worker.Status.SUSPENDED
        assert absent.no_shows == 0
        assert "рекрутер" in text
        assert "восстановлен" not in text
        assert count_segments(text).segments == 1

    def test_other_no_shows_that_still_suspend_keep_the_suspension(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, absent = crew_with_absentee(desk, earlier_no_shows=2)
        assert status(absent) == Worker.Status.SUSPENDED

        text = decide(desk, spb_api, order, absent, "reverse")

        assert status(absent) == Worker.Status.SUSPENDED
        assert "recruiter will review your suspension" in text

    def test_a_reversal_for_a_worker_never_suspended_reads_as_before(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, absent = crew_with_absentee(desk, earlier_no_shows=0)
        text = decide(desk, spb_api, order, absent, "reverse")
        assert status(absent) == Worker.Status.ACTIVE
        assert text == f"Appeal on {order.code} upheld: the no-show is removed from your record."


class TestAppealAgain:
    @pytest.mark.parametrize("language", ["en", "ru"])
    def test_after_an_upheld_appeal_the_no_show_stands(
        self, desk: Desk, spb_api: APIClient, language: str
    ) -> None:
        order, absent = crew_with_absentee(desk, language, earlier_no_shows=0)
        decide(desk, spb_api, order, absent, "uphold")

        reply = desk.reply(absent, f"APPEAL {order.code}").reply

        expected = {"en": ("already decided", "stands"), "ru": ("уже рассмотрена", "остаётся")}
        assert all(words in reply for words in expected[language]), reply
        assert "ecruiter" not in reply
        assert "екрутер" not in reply
        assert count_segments(reply).segments == 1
        assert Appeal.objects.get().status == Appeal.Status.UPHELD

    def test_after_a_reversal_it_says_the_no_show_was_already_removed(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, absent = crew_with_absentee(desk, earlier_no_shows=0)
        decide(desk, spb_api, order, absent, "reverse")

        for body in (f"APPEAL {order.code}", "APPEAL"):
            reply = desk.reply(absent, body).reply
            assert "already decided" in reply
            assert "removed" in reply
            assert order.code in reply
        assert Appeal.objects.count() == 1

    def test_a_pending_appeal_asked_again_is_still_received(
        self, desk: Desk
    ) -> None:
        order, absent = crew_with_absentee(desk, earlier_no_shows=0)
        desk.at(END + timedelta(days=1))
        desk.reply(absent, f"APPEAL {order.code}")
        reply = desk.reply(absent, f"APPEAL {order.code}").reply
        assert "received" in reply.lower()
        assert Appeal.objects.count() == 1

    @pytest.mark.parametrize("language", ["en", "ru"])
    def test_after_the_window_it_says_the_window_closed(
        self, desk: Desk, language: str
    ) -> None:
        order, absent = crew_with_absentee(desk, language, earlier_no_shows=0)
        desk.at(END + timedelta(days=5, minutes=1))

        reply = desk.reply(absent, f"APPEAL {order.code}").reply

        expected: dict[str, Any] = {"en": ("closed", "5 days"), "ru": ("истёк", "5 дн")}
        assert all(words in reply for words in expected[language]), reply
        assert "no no-show" not in reply
        assert count_segments(reply).segments == 1
        assert not Appeal.objects.exists()
