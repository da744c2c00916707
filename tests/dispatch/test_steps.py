"""Timed steps run by the sweeper: claimed once, retried after a failure; the reminders,
the silence check and the no-show check on the virtual clock."""

from datetime import timedelta

import pytest

from dispatch import tasks
from dispatch.models import Offer, Order, Step
from dispatch.services.lifecycle import no_show_check, silence_check
from dispatch.services.steps import step_claim
from ratings.models import RatingEvent
from workers.models import Worker

from .conftest import NOW, START, Desk, run_together, set_dispatch

EVENING = NOW.replace(hour=16)  # 19:00 in Saint Petersburg, the evening before
FINAL = START - timedelta(hours=2)
SILENCE = START - timedelta(hours=1)
NO_SHOW = START + timedelta(minutes=30)

CONFIRMED, STANDBY = Offer.State.CONFIRMED, Offer.State.STANDBY


def _crew(desk: Desk, *, overbook_policy: str = Order.Policy.FIXED,
          **worker_fields: object) -> tuple[Order, list[Worker], Worker]:
    """An order for 2, booked 3 (nearest first) with one standby; the fifth acceptor is let go."""
    crew = [desk.worker(km, **worker_fields) for km in (1, 2, 3)]
    standby = desk.worker(4, **worker_fields)
    released = desk.worker(5, **worker_fields)
    order = desk.called(2, overbook_policy=overbook_policy)
    for worker in (*crew, standby, released):
        desk.accept(worker, order)
    desk.run_batch()
    assert desk.in_state(order, CONFIRMED) == {w.pk for w in crew}
    assert desk.in_state(order, STANDBY) == {standby.pk}
    return order, crew, standby


def _reminded(desk: Desk, order: Order) -> dict[int, int]:
    return {worker: len(texts) for worker, texts in desk.texts(order, "reminder").items()}


@pytest.mark.django_db
class TestSweeper:
    def test_the_schedule_of_a_call_out(self, desk: Desk) -> None:
        desk.workers(3, km=2)
        order = desk.called(2)

        due = dict(Step.objects.filter(order=order).values_list("kind", "due_at"))

        assert due == {
            Step.Kind.WAVE: NOW + timedelta(minutes=10),
            Step.Kind.REMINDER_EVENING: EVENING,
            Step.Kind.REMINDER_FINAL: FINAL,
            Step.Kind.SILENCE_CHECK: SILENCE,
            Step.Kind.NO_SHOW_CHECK: NO_SHOW,
        }

    def test_a_step_runs_once_however_often_the_sweeper_looks(self, desk: Desk) -> None:
        order, crew, _ = _crew(desk)

        first = desk.sweep(at=EVENING)
        second = desk.sweep()
        third = desk.sweep()

        assert first >= 1
        assert second == third == 0
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}
        step = Step.objects.get(order=order, kind=Step.Kind.REMINDER_EVENING)
        assert step.claimed_at == EVENING
        assert step.done_at == EVENING

    def test_a_step_claimed_elsewhere_is_left_alone(self, desk: Desk) -> None:
        order, _, _ = _crew(desk)
        Step.objects.filter(order=order, kind=Step.Kind.REMINDER_EVENING).update(
            claimed_at=EVENING
        )

        desk.sweep(at=EVENING)

        assert _reminded(desk, order) == {}

    def test_a_failing_step_is_released_and_retried(
        self, desk: Desk, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        order, crew, _ = _crew(desk)
        real = tasks.reminders_send

        def broken(*, order_id: int) -> int:
            raise RuntimeError("the gateway table is locked")

        monkeypatch.setattr(tasks, "reminders_send", broken)
        desk.sweep(at=EVENING)

        step = Step.objects.get(order=order, kind=Step.Kind.REMINDER_EVENING)
        assert step.claimed_at is None
        assert step.done_at is None
        assert _reminded(desk, order) == {}

        monkeypatch.setattr(tasks, "reminders_send", real)
        desk.sweep(at=EVENING + timedelta(minutes=1))

        step.refresh_from_db()
        assert step.done_at == EVENING + timedelta(minutes=1)
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}


@pytest.mark.django_db
class TestReminders:
    def test_reminders_go_to_the_crew_the_evening_before_and_two_hours_before(
        self, desk: Desk
    ) -> None:
        order, crew, standby = _crew(desk)

        desk.sweep(at=EVENING - timedelta(minutes=1))
        assert _reminded(desk, order) == {}

        desk.sweep(at=EVENING)
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}
        [text] = desk.texts(order, "reminder")[crew[0].pk]
        assert text == (
            f"Напоминание {order.code}: 11.03 09:00, Sofiyskaya 6, Saint Petersburg. "
            f"Придёте? ДА {order.code}"
        )

        desk.sweep(at=FINAL - timedelta(minutes=1))
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}

        desk.sweep(at=FINAL)
        assert _reminded(desk, order) == {w.pk: 2 for w in crew}
        assert standby.pk not in desk.told(order, "reminder")

    def test_an_order_placed_late_in_the_evening_gets_only_the_final_reminder(
        self, desk: Desk
    ) -> None:
        desk.at(EVENING + timedelta(hours=2))
        order = desk.called(2)

        kinds = set(Step.objects.filter(order=order).values_list("kind", flat=True))

        assert Step.Kind.REMINDER_EVENING not in kinds
        assert Step.Kind.REMINDER_FINAL in kinds

    def test_yes_after_a_reminder_reconfirms(self, desk: Desk) -> None:
        order, crew, _ = _crew(desk)
        desk.sweep(at=EVENING)
        desk.at(EVENING + timedelta(minutes=7))

        result = desk.reply(crew[0], f"ДА {order.code}")

        assert result.reply == f"Спасибо, ждём вас: {order.code} 11.03 09:00"
        offer = desk.offer(order, crew[0])
        assert offer.reconfirmed_at == EVENING + timedelta(minutes=7)
        assert offer.state == CONFIRMED
        assert desk.counts(order)["accepted"] == 5
        crew[0].refresh_from_db()
        assert (crew[0].offers_answered, crew[0].offers_accepted) == (1, 1)

    def test_the_silent_get_a_standby_called_in_beside_them(self, desk: Desk) -> None:
        order, crew, standby = _crew(desk)
        desk.sweep(at=EVENING)
        desk.reply(crew[0], f"YES {order.code}")
        desk.sweep(at=FINAL)
        desk.reply(crew[1], f"YES {order.code}")

        desk.sweep(at=SILENCE)

        assert desk.offer(order, standby).state == CONFIRMED
        assert desk.told(order, "standby_call") == {standby.pk}
        [call] = desk.texts(order, "standby_call")[standby.pk]
        assert call.startswith(f"Срочно {order.code}: нужны вы, 11.03 09:00")
        # The silent one keeps the place: they may still come.
        assert desk.offer(order, crew[2]).state == CONFIRMED
        assert len(desk.in_state(order, CONFIRMED)) == 4

    def test_nobody_is_called_when_everyone_reconfirmed(self, desk: Desk) -> None:
        order, crew, standby = _crew(desk)
        desk.sweep(at=EVENING)
        for worker in crew:
            desk.reply(worker, f"YES {order.code}")

        desk.sweep(at=SILENCE)

        assert desk.offer(order, standby).state == STANDBY
        assert desk.told(order, "standby_call") == set()

    def test_adaptive_orders_call_standby_only_when_the_answers_leave_the_crew_short(
        self, desk: Desk
    ) -> None:
        order, crew, standby = _crew(desk, overbook_policy=Order.Policy.ADAPTIVE,
                                     reliability=0.95)
        desk.sweep(at=EVENING)
        desk.reply(crew[0], f"YES {order.code}")
        desk.reply(crew[1], f"YES {order.code}")

        desk.sweep(at=SILENCE)

        # Two who answered (0.977 each, at the default rates: re-confirmed 0.9, silent 0.5,
        # all 0.8) and one silent (0.826): at least two come with chance 0.99. The fixed
        # policy would call one standby for the silent one.
        assert desk.offer(order, standby).state == STANDBY
        assert desk.told(order, "standby_call") == set()

    def test_adaptive_orders_call_standby_for_a_silent_crew(self, desk: Desk) -> None:
        order, crew, standby = _crew(desk, overbook_policy=Order.Policy.ADAPTIVE,
                                     reliability=0.95)
        desk.sweep(at=SILENCE)

        # Three silent at 0.826: two of them come with chance 0.92, under the target 0.95.
        assert desk.offer(order, standby).state == CONFIRMED
        assert desk.told(order, "standby_call") == {standby.pk}
        assert all(desk.offer(order, worker).state == CONFIRMED for worker in crew)

    def test_the_silence_check_waits_for_a_reminder(self, desk: Desk) -> None:
        order, _, standby = _crew(desk)

        assert silence_check(order_id=order.pk) == 0

        assert desk.offer(order, standby).state == STANDBY


@pytest.mark.django_db
class TestNoShows:
    def test_the_absent_are_no_shows_once_and_standby_is_called(self, desk: Desk) -> None:
        order, crew, standby = _crew(desk)
        came, absent = crew[0], crew[1:]
        desk.sweep(at=SILENCE)  # reminders went out; nobody answered: the standby is called
        assert desk.offer(order, standby).state == CONFIRMED
        desk.at(START - timedelta(minutes=10))
        assert desk.reply(came, f"HERE {order.code}").reply
        assert desk.offer(order, came).attendance == Offer.Attendance.PRESENT
        desk.reply(standby, f"HERE {order.code}")

        desk.sweep(at=NO_SHOW)

        assert set(
            Offer.objects.filter(order=order, attendance=Offer.Attendance.NO_SHOW)
            .values_list("worker_id", flat=True)
        ) == {w.pk for w in absent}
        for worker in absent:
            worker.refresh_from_db()
            assert worker.rating < 4.0
            assert worker.no_shows == 1
        came.refresh_from_db()
        assert came.no_shows == 0
        counts = desk.counts(order)
        assert (counts["present"], counts["no_show"]) == (2, 2)

        assert no_show_check(order_id=order.pk) == 0

        assert RatingEvent.objects.filter(kind="no_show").count() == 2
        assert desk.counts(order)["no_show"] == 2

    def test_no_shows_lower_the_rating_at_once_and_call_the_standby(self, desk: Desk) -> None:
        order, crew, standby = _crew(desk)
        ratings_before = {w.pk: w.rating for w in Worker.objects.filter(pk__in=[w.pk for w in
                                                                                 crew])}

        desk.at(NO_SHOW)
        marked = no_show_check(order_id=order.pk)

        assert marked == 3
        for worker in Worker.objects.filter(pk__in=[w.pk for w in crew]):
            assert worker.rating < ratings_before[worker.pk] - 1.0
        assert desk.offer(order, standby).state == CONFIRMED
        assert desk.told(order, "standby_call") == {standby.pk}
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS

    def test_a_second_check_marks_nobody_new_and_calls_nobody_new(self, desk: Desk) -> None:
        order, _, standby = _crew(desk)
        desk.at(NO_SHOW)
        no_show_check(order_id=order.pk)
        # The standby called in at the check has not had time to arrive.
        assert desk.offer(order, standby).attendance is None

        desk.at(NO_SHOW + timedelta(minutes=5))
        again = no_show_check(order_id=order.pk)

        assert again == 0
        assert desk.offer(order, standby).attendance is None
        assert not RatingEvent.objects.filter(worker=standby).exists()
        assert RatingEvent.objects.filter(kind="no_show").count() == 3
        assert len(desk.texts(order, "standby_call")[standby.pk]) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_run_each_step_once(desk: Desk, settings: object) -> None:
    # The wave fell due hours before the evening: not stale for this test.
    settings.STEP_STALE_AFTER = 24 * 3600
    order, crew, _ = _crew(desk)
    desk.at(EVENING)
    due_steps = Step.objects.filter(due_at__lte=EVENING, done_at__isnull=True).count()
    assert due_steps >= 2  # the next wave (a no-op now) and the evening reminder

    ran = run_together(6, lambda _: tasks.run_due_steps())

    assert sum(ran) == due_steps
    assert _reminded(desk, order) == {w.pk: 1 for w in crew}
    assert not Step.objects.filter(due_at__lte=EVENING, done_at__isnull=True).exists()


def test_no_wave_is_rescheduled_once_the_offer_cap_is_reached(desk: Desk, settings: object) -> None:
    """With the per-order cap used up and acceptances still short, the wave steps stop
    instead of falling due again and again until the start."""

    set_dispatch(settings, MAX_OFFERS_PER_ORDER=3)
    desk.workers(5, km=1)
    order = desk.called(4)
    assert order.offers.count() == 3
    for _ in range(6):
        pending = Step.objects.filter(order=order, kind=Step.Kind.WAVE, done_at__isnull=True)
        if not pending.exists():
            break
        desk.sweep(at=pending.order_by("due_at").first().due_at)
    assert not Step.objects.filter(order=order, kind=Step.Kind.WAVE, done_at__isnull=True).exists()
    assert Step.objects.filter(order=order, kind=Step.Kind.WAVE).count() <= 1


@pytest.mark.django_db
class TestLeaseAndStaleSteps:
    def test_a_step_whose_runner_died_after_claiming_runs_once_its_lease_is_out(
        self, desk: Desk, settings: object
    ) -> None:
        order, crew, _ = _crew(desk)
        step = Step.objects.get(order=order, kind=Step.Kind.REMINDER_EVENING)
        # A sweeper claims the reminder, then its process is killed before running it.
        assert step_claim(step.pk, now=EVENING)
        lease = timedelta(seconds=settings.STEP_LEASE_SECONDS)

        desk.sweep(at=EVENING + lease - timedelta(seconds=1))
        assert _reminded(desk, order) == {}

        desk.sweep(at=EVENING + lease)
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}
        step.refresh_from_db()
        assert (step.done_at, step.missed) == (EVENING + lease, False)

        desk.sweep(at=EVENING + 3 * lease)
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}

    def test_a_claim_from_before_leases_is_taken_again_after_one_lease(
        self, desk: Desk, settings: object
    ) -> None:
        order, crew, _ = _crew(desk)
        Step.objects.filter(order=order, kind=Step.Kind.REMINDER_EVENING).update(
            claimed_at=EVENING, lease_until=None
        )
        desk.sweep(at=EVENING + timedelta(seconds=settings.STEP_LEASE_SECONDS))
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}

    def test_steps_of_an_old_order_are_closed_as_missed_and_nobody_becomes_a_no_show(
        self, desk: Desk, settings: object, caplog: pytest.LogCaptureFixture
    ) -> None:
        order, crew, _ = _crew(desk)
        # The servers were down from before the evening until two days after the shift.
        caplog.set_level("WARNING", logger="dispatch.services.steps")
        desk.sweep(at=START + timedelta(days=2))

        pending = Step.objects.filter(order=order, done_at__isnull=True)
        assert not pending.exists()
        missed = set(Step.objects.filter(order=order, missed=True).values_list("kind", flat=True))
        assert {Step.Kind.REMINDER_EVENING, Step.Kind.REMINDER_FINAL, Step.Kind.SILENCE_CHECK,
                Step.Kind.NO_SHOW_CHECK} <= missed
        assert not Offer.objects.filter(order=order, attendance="no_show").exists()
        assert _reminded(desk, order) == {}
        for worker in crew:
            worker.refresh_from_db()
            assert worker.no_shows == 0
        lines = [r.getMessage() for r in caplog.records if "closed as missed" in r.getMessage()]
        assert any(f"no_show_check of order {order.code}" in line for line in lines)

    def test_a_step_late_by_less_than_the_setting_still_runs(
        self, desk: Desk, settings: object
    ) -> None:
        order, crew, _ = _crew(desk)
        settings.STEP_STALE_AFTER = 3600
        desk.sweep(at=FINAL - timedelta(minutes=1))  # the evening reminder is 12 h late
        assert _reminded(desk, order) == {}
        assert Step.objects.get(order=order, kind=Step.Kind.REMINDER_EVENING).missed

        desk.sweep(at=FINAL + timedelta(minutes=59))
        assert _reminded(desk, order) == {w.pk: 1 for w in crew}
        assert not Step.objects.get(order=order, kind=Step.Kind.REMINDER_FINAL).missed

    def test_acceptances_waiting_in_a_late_batch_are_booked_not_dropped(
        self, desk: Desk, settings: object
    ) -> None:
        """The sweeper was down for longer than the setting while a worker said yes to an order
        two days ahead: the batch runs when it comes back, and books them."""
        worker = desk.worker(1)
        later = desk.called(1, start=START + timedelta(days=2))
        desk.accept(worker, later)
        due = desk.batch_due()
        desk.sweep(at=due + timedelta(seconds=settings.STEP_STALE_AFTER + 3600))
        assert desk.in_state(later, CONFIRMED) == {worker.pk}
        assert not Step.objects.filter(kind=Step.Kind.ASSIGN, missed=True).exists()

    def test_a_late_wave_of_an_order_still_ahead_calls_on(
        self, desk: Desk, settings: object
    ) -> None:
        near = desk.workers(1, km=1)
        far = desk.workers(3, km=12)
        later = desk.called(3, start=START + timedelta(days=2))
        assert desk.offered(later) == {w.pk for w in near}
        wave = Step.objects.get(order=later, kind=Step.Kind.WAVE, done_at__isnull=True)
        desk.sweep(at=wave.due_at + timedelta(seconds=settings.STEP_STALE_AFTER + 3600))
        wave.refresh_from_db()
        assert (wave.done_at is not None, wave.missed) == (True, False)
        assert desk.offered(later) >= {w.pk for w in far}
