"""On site: attendance from the foreman, HERE by SMS, scores, completion, withdrawals."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from dispatch.models import Offer, Order
from messaging.models import Direction, Message
from messaging.services import inbound_receive
from ratings.models import RatingEvent
from tests.dispatch.conftest import START, Desk, next_sid
from workers.models import Worker

PENALTY_KINDS = {"no_show", "late", "late_cancel", "very_late_cancel"}
END = START + timedelta(hours=6)  # the shift booked below is six hours long


def booked(desk: Desk, *, standby: int = 0, language: str = "en", **order_fields: Any
           ) -> tuple[Order, list[Worker], list[Worker]]:
    """An order for 2 (booking target 3): three workers confirmed and `standby` more kept on
    standby, through call-out, YES replies and the assignment."""
    workers = desk.workers(3 + standby, language=language)
    order = desk.book(desk.order(2, **order_fields), workers)
    confirmed = desk.in_state(order, Offer.State.CONFIRMED)
    on_standby = desk.in_state(order, Offer.State.STANDBY)
    assert len(confirmed) == 3
    assert len(on_standby) == standby
    return (
        order,
        [w for w in workers if w.pk in confirmed],
        [w for w in workers if w.pk in on_standby],
    )


def attendance(api: APIClient, order: Order, entries: list[dict[str, Any]]) -> Any:
    return api.post(f"/api/v1/orders/{order.pk}/attendance/", entries, format="json")


def feedback(api: APIClient, order: Order, entries: list[dict[str, Any]]) -> Any:
    return api.post(f"/api/v1/orders/{order.pk}/feedback/", entries, format="json")


def complete(api: APIClient, order: Order) -> Any:
    return api.post(f"/api/v1/orders/{order.pk}/complete/", format="json")


def events(worker: Worker, *, standing: bool = True) -> list[tuple[str, Any, str]]:
    rows = RatingEvent.objects.filter(worker=worker).order_by("id")
    if standing:
        rows = rows.filter(reversed_at__isnull=True)
    return [(row.kind, row.score, row.source) for row in rows]


def figures(worker: Worker) -> tuple[float, float, int, int]:
    worker.refresh_from_db()
    return worker.rating, worker.reliability, worker.no_shows, worker.shifts_completed


def present(entry_worker: Worker, status: str = "present", **extra: Any) -> dict[str, Any]:
    return {"worker": entry_worker.pk, "status": status, **extra}


# --- Attendance through the API -----------------------------------------------------------------


class TestAttendance:
    def test_present_late_and_no_show_with_hours(self, desk: Desk, spb_api: APIClient) -> None:
        order, (on_time, late, absent), _ = booked(desk)
        fresh = figures(absent)
        desk.at(START + timedelta(hours=1))

        response = attendance(spb_api, order, [
            present(on_time, hours=6),
            present(late, "late", hours="5.5"),
            present(absent, "no_show", hours=4),
        ])

        assert response.status_code == 200, response.content
        rows = {row["worker"]: row for row in response.json()}
        assert rows[on_time.pk]["attendance"] == "present"
        assert rows[late.pk]["attendance"] == "late"
        assert rows[absent.pk]["attendance"] == "no_show"
        assert Decimal(rows[on_time.pk]["hours_worked"]) == Decimal(6)
        assert Decimal(rows[late.pk]["hours_worked"]) == Decimal("5.5")
        assert rows[absent.pk]["hours_worked"] is None  # hours are ignored for a no-show
        assert events(on_time) == [("show", None, "")]
        assert events(late) == [("late", None, "")]
        assert events(absent) == [("no_show", None, "")]
        rating, reliability, no_shows, _ = figures(absent)
        assert rating < fresh[0]
        assert reliability < fresh[1]
        assert no_shows == 1
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS
        assert desk.counts(order)["present"] == 2
        assert desk.counts(order)["no_show"] == 1

    def test_hours_are_optional(self, desk: Desk, spb_api: APIClient) -> None:
        order, crew, _ = booked(desk)
        desk.at(START)
        response = attendance(spb_api, order, [present(crew[0])])
        assert response.status_code == 200, response.content
        assert response.json()[0]["hours_worked"] is None
        assert desk.offer(order, crew[0]).attendance == "present"

    def test_a_worker_not_on_the_crew_rejects_the_whole_list(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk)
        stranger = desk.worker(km=2)
        desk.at(START + timedelta(minutes=10))

        response = attendance(spb_api, order, [
            present(crew[0]), present(crew[1], "no_show"), present(stranger),
        ])

        assert response.status_code == 400
        assert str(stranger.pk) in str(response.json())
        assert not Offer.objects.filter(order=order, attendance__isnull=False).exists()
        assert not RatingEvent.objects.exists()
        assert figures(crew[1])[2] == 0
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED

    def test_a_worker_offered_but_not_booked_is_not_on_the_crew(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        workers = desk.workers(5)
        order = desk.book(desk.order(2), workers[:3])  # the other two never answered
        released = next(w for w in workers if desk.offer(order, w).state != "confirmed")
        desk.at(START)
        response = attendance(spb_api, order, [present(released)])
        assert response.status_code == 400
        assert not RatingEvent.objects.exists()

    def test_attendance_opens_an_hour_before_the_start(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk)
        desk.at(START - timedelta(minutes=61))
        response = attendance(spb_api, order, [present(crew[0])])
        assert response.status_code == 400
        assert desk.offer(order, crew[0]).attendance is None

        desk.at(START - timedelta(minutes=60))
        assert attendance(spb_api, order, [present(crew[0])]).status_code == 200

    def test_attendance_closes_a_week_after_the_end(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk)
        desk.at(END + timedelta(days=7, minutes=1))
        response = attendance(spb_api, order, [present(crew[0], "no_show")])
        assert response.status_code == 400
        assert desk.offer(order, crew[0]).attendance is None
        assert not RatingEvent.objects.exists()

        desk.at(END + timedelta(days=7))
        assert attendance(spb_api, order, [present(crew[0])]).status_code == 200

    def test_the_same_attendance_twice_is_one_event(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk)
        desk.at(START + timedelta(minutes=40))
        entries = [present(crew[0]), present(crew[1], "no_show")]
        assert attendance(spb_api, order, entries).status_code == 200
        after_first = figures(crew[1])

        desk.at(START + timedelta(hours=2))
        assert attendance(spb_api, order, entries).status_code == 200

        assert events(crew[0]) == [("show", None, "")]
        assert events(crew[1]) == [("no_show", None, "")]
        assert figures(crew[1]) == after_first

    def test_correcting_a_no_show_to_present_reverses_it(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, (corrected, simply_present, _), _ = booked(desk)
        desk.at(START + timedelta(minutes=45))
        assert attendance(spb_api, order, [present(corrected, "no_show")]).status_code == 200
        assert figures(corrected)[2] == 1

        desk.at(START + timedelta(hours=1))
        response = attendance(spb_api, order, [present(corrected), present(simply_present)])

        assert response.status_code == 200, response.content
        assert desk.offer(order, corrected).attendance == "present"
        assert figures(corrected) == figures(simply_present)
        assert figures(corrected)[2:] == (0, 1)
        assert events(corrected) == [("show", None, "")]
        history = spb_api.get(f"/api/v1/workers/{corrected.pk}/history/").json()
        assert history["no_shows"] == 0
        assert history["shifts"] == 1
        assert [(e["kind"], e["reversed"]) for e in history["events"]] == [
            ("show", False), ("no_show", True),
        ]

    def test_an_order_outside_the_franchise_is_404(
        self, desk: Desk, nsk_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk)
        desk.at(START)
        assert attendance(nsk_api, order, [present(crew[0])]).status_code == 404
        assert not RatingEvent.objects.exists()


class TestForeman:
    def test_the_orders_foreman_takes_attendance(
        self, desk: Desk, spb_foreman: Any, foreman_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk, foreman=spb_foreman)
        desk.at(START + timedelta(minutes=5))
        response = attendance(foreman_api, order, [present(crew[0], hours=6)])
        assert response.status_code == 200, response.content
        assert desk.offer(order, crew[0]).attendance == "present"

        scored = feedback(foreman_api, order, [
            {"worker": crew[0].pk, "score": 5, "source": "foreman"},
        ])
        assert scored.status_code == 200, scored.content
        assert ("score", 5, "foreman") in events(crew[0])

    def test_a_foreman_cannot_touch_another_foremans_order(
        self, desk: Desk, foreman_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk)  # nobody's foreman order
        desk.at(START)
        assert attendance(foreman_api, order, [present(crew[0])]).status_code == 404
        assert desk.offer(order, crew[0]).attendance is None

    def test_a_foreman_cannot_create_orders(
        self, desk: Desk, foreman_api: APIClient
    ) -> None:
        response = foreman_api.post("/api/v1/orders/", {
            "client": desk.client.pk, "site": desk.site.pk, "work_type": "loading",
            "headcount": 2, "start": START.isoformat(), "hours": "6",
        }, format="json")
        assert response.status_code == 403
        assert not Order.objects.exists()


# --- HERE by SMS --------------------------------------------------------------------------------


class TestHere:
    def test_here_within_the_window_checks_in(self, desk: Desk) -> None:
        order, crew, _ = booked(desk)
        desk.at(START - timedelta(minutes=30))
        reply = desk.reply(crew[0], f"HERE {order.code}").reply
        assert order.code in reply
        assert "checked in" in reply.lower()
        assert desk.offer(order, crew[0]).attendance == "present"
        assert events(crew[0]) == [("show", None, "")]
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS

    def test_here_after_a_quarter_of_an_hour_is_late(self, desk: Desk) -> None:
        order, crew, _ = booked(desk, language="ru")
        desk.at(START + timedelta(minutes=14))
        desk.reply(crew[0], f"тут {order.code.lower()}")
        desk.at(START + timedelta(minutes=16))
        reply = desk.reply(crew[1], f"ТУТ {order.code}").reply
        assert "опоздани" in reply
        assert desk.offer(order, crew[0]).attendance == "present"
        assert desk.offer(order, crew[1]).attendance == "late"
        assert events(crew[1]) == [("late", None, "")]

    def test_here_too_early_records_nothing_and_says_when_it_opens(self, desk: Desk) -> None:
        order, crew, _ = booked(desk)
        desk.at(START - timedelta(minutes=61))
        reply = desk.reply(crew[0], f"HERE {order.code}").reply
        assert "too early" in reply.lower()
        assert "08:00" in reply  # an hour before 09:00, the start in Saint Petersburg
        assert desk.offer(order, crew[0]).attendance is None
        assert not RatingEvent.objects.exists()

    def test_here_after_the_end_records_nothing(self, desk: Desk) -> None:
        order, crew, _ = booked(desk)
        desk.at(END + timedelta(minutes=1))
        reply = desk.reply(crew[0], f"HERE {order.code}").reply
        assert "ended" in reply.lower()
        assert desk.offer(order, crew[0]).attendance is None
        assert not RatingEvent.objects.exists()

    def test_here_from_someone_not_on_the_crew_records_nothing(self, desk: Desk) -> None:
        order, _, _ = booked(desk)
        stranger = desk.worker(km=3, language="en")
        desk.at(START)
        reply = desk.reply(stranger, f"HERE {order.code}").reply
        assert "not on crew" in reply.lower()
        assert not Offer.objects.filter(order=order, attendance__isnull=False).exists()
        assert not RatingEvent.objects.exists()

    def test_here_twice_is_one_check_in(self, desk: Desk) -> None:
        order, crew, _ = booked(desk)
        desk.at(START - timedelta(minutes=5))
        desk.reply(crew[0], f"HERE {order.code}")
        desk.at(START + timedelta(minutes=40))
        reply = desk.reply(crew[0], f"HERE {order.code}").reply
        assert "already" in reply.lower()
        assert desk.offer(order, crew[0]).attendance == "present"
        assert events(crew[0]) == [("show", None, "")]


# --- Scores -------------------------------------------------------------------------------------


def worked(desk: Desk, api: APIClient) -> tuple[Order, list[Worker]]:
    """A crew at work: the first present, the second late, the third absent."""
    order, crew, _ = booked(desk)
    desk.at(START + timedelta(hours=1))
    response = attendance(api, order, [
        present(crew[0]), present(crew[1], "late", hours=5), present(crew[2], "no_show"),
    ])
    assert response.status_code == 200, response.content
    return order, crew


class TestFeedback:
    def test_scores_become_rating_events_for_workers_who_came(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        quality = figures(crew[0])[0]
        response = feedback(spb_api, order, [
            {"worker": crew[0].pk, "score": 5, "source": "foreman"},
            {"worker": crew[1].pk, "score": 2, "source": "client"},
        ])
        assert response.status_code == 200, response.content
        assert response.json() == {"recorded": 2}
        assert events(crew[0])[-1] == ("score", 5, "foreman")
        assert events(crew[1])[-1] == ("score", 2, "client")
        assert figures(crew[0])[0] > quality

    def test_a_worker_who_did_not_come_cannot_be_scored(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        response = feedback(spb_api, order, [
            {"worker": crew[0].pk, "score": 4, "source": "foreman"},
            {"worker": crew[2].pk, "score": 1, "source": "foreman"},
        ])
        assert response.status_code == 400
        assert not RatingEvent.objects.filter(kind="score").exists()

    def test_a_score_outside_1_to_5_is_refused(self, desk: Desk, spb_api: APIClient) -> None:
        order, crew = worked(desk, spb_api)
        for score in (6, 0):
            response = feedback(spb_api, order, [
                {"worker": crew[0].pk, "score": score, "source": "foreman"},
            ])
            assert response.status_code == 400
            assert "score" in str(response.json())
        assert not RatingEvent.objects.filter(kind="score").exists()


# --- Completion and the client's score ------------------------------------------------------------


def client_says(desk: Desk, text: str) -> Any:
    return inbound_receive(provider_sid=next_sid(), sender=str(desk.client.phone), body=text)


class TestComplete:
    def test_an_order_cannot_be_completed_before_its_start(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, _, _ = booked(desk)
        desk.at(START - timedelta(minutes=1))
        response = complete(spb_api, order)
        assert response.status_code == 400
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        assert not Message.objects.filter(purpose="client_feedback").exists()

    def test_completion_confirms_hours_and_asks_the_client_for_a_score(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        desk.at(END + timedelta(minutes=30))

        response = complete(spb_api, order)

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "completed"
        hours = {o.worker_id: o.hours_worked for o in Offer.objects.filter(order=order)}
        assert hours[crew[0].pk] == order.hours  # present without hours: the whole shift
        assert hours[crew[1].pk] == Decimal(5)  # the foreman's figure stands
        assert hours[crew[2].pk] is None
        asked = Message.objects.filter(purpose="client_feedback", direction=Direction.OUT)
        assert list(asked.values_list("phone", flat=True)) == [str(desk.client.phone)]
        assert order.code in asked.get().body

    def test_the_clients_reply_scores_each_worker_who_came_once(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        desk.at(END + timedelta(minutes=30))
        assert complete(spb_api, order).status_code == 200
        desk.at(END + timedelta(hours=3))

        reply = client_says(desk, "4").reply

        assert order.code in reply
        assert "4" in reply
        assert events(crew[0])[-1] == ("score", 4, "client")
        assert events(crew[1])[-1] == ("score", 4, "client")
        assert not RatingEvent.objects.filter(worker=crew[2], kind="score").exists()
        after_first = {worker.pk: figures(worker) for worker in crew}

        client_says(desk, "1")

        assert RatingEvent.objects.filter(kind="score", source="client").count() == 2
        assert {worker.pk: figures(worker) for worker in crew} == after_first
        order.refresh_from_db()
        assert order.client_score == 4

    def test_completing_twice_asks_the_client_once(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, _ = worked(desk, spb_api)
        desk.at(END)
        assert complete(spb_api, order).status_code == 200
        assert complete(spb_api, order).status_code == 200
        assert Message.objects.filter(purpose="client_feedback").count() == 1


# --- Withdrawal by SMS ----------------------------------------------------------------------------


class TestCancel:
    def test_cancel_a_day_ahead_costs_nothing_and_calls_a_standby(self, desk: Desk) -> None:
        start = START + timedelta(days=2)
        order, crew, (standby,) = booked(desk, standby=1, start=start)
        before = figures(crew[0])
        desk.at(start - timedelta(hours=25))

        reply = desk.reply(crew[0], f"CANCEL {order.code}").reply

        assert order.code in reply
        assert desk.offer(order, crew[0]).state == Offer.State.CANCELLED
        assert not {kind for kind, _, _ in events(crew[0])} & PENALTY_KINDS
        assert figures(crew[0]) == before
        assert desk.offer(order, standby).state == Offer.State.CONFIRMED
        assert desk.told(order, "standby_call") == {standby.pk}

    def test_cancel_under_a_day_is_a_late_cancellation(self, desk: Desk) -> None:
        order, crew, (standby,) = booked(desk, standby=1)
        before = figures(crew[0])
        desk.at(START - timedelta(hours=5))

        reply = desk.reply(crew[0], f"CANCEL {order.code}").reply

        assert "rating" in reply.lower()
        assert desk.offer(order, crew[0]).state == Offer.State.CANCELLED
        assert events(crew[0]) == [("late_cancel", None, "")]
        rating, reliability, _, _ = figures(crew[0])
        assert rating < before[0]
        assert reliability < before[1]
        assert desk.offer(order, standby).state == Offer.State.CONFIRMED
        assert desk.told(order, "standby_call") == {standby.pk}
        assert "YES" in desk.texts(order, "standby_call")[standby.pk][0]

    def test_cancel_after_the_no_show_is_recorded_changes_nothing(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        absent = crew[2]
        after_no_show = figures(absent)
        desk.at(START + timedelta(hours=2))

        desk.reply(absent, f"CANCEL {order.code}")

        assert events(absent) == [("no_show", None, "")]
        assert figures(absent) == after_no_show
        assert desk.offer(order, absent).state == Offer.State.CONFIRMED
        # The foreman may still correct the record: the worker came after all.
        desk.at(START + timedelta(hours=3))
        assert attendance(spb_api, order, [present(absent, "late")]).status_code == 200
        assert events(absent) == [("late", None, "")]
