"""Call-out: booking targets, who is offered an order, wave sizes, and when waves stop."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from dispatch.models import ClientPreference, Offer, Order, Step
from dispatch.selectors import candidates_for_order
from dispatch.services import callout_start
from dispatch.services.lifecycle import order_cancel
from messaging.models import OptOut
from workers.models import Worker

from .conftest import NOW, START, Desk, set_dispatch

pytestmark = pytest.mark.django_db


class TestStart:
    def test_draft_becomes_calling_with_the_house_rule_target(self, desk: Desk) -> None:
        desk.workers(20, km=2)
        order = desk.order(10)
        assert order.status == Order.Status.DRAFT

        order = desk.call(order)

        assert order.status == Order.Status.CALLING
        assert order.booking_target == 15
        assert order.calling_since == NOW
        assert order.waves_sent == 1
        assert desk.counts(order)["invited"] == 20

    def test_the_franchise_ratio_sets_the_target(self, desk: Desk) -> None:
        desk.franchise.booking_ratio = Decimal("1.2")
        desk.franchise.save()
        desk.workers(5, km=2)

        order = desk.called(7)

        assert order.booking_target == 9  # ceil(1.2 x 7)

    def test_calling_out_twice_is_refused(self, desk: Desk) -> None:
        desk.workers(5, km=2)
        order = desk.called(2)

        with pytest.raises(ValidationError) as error:
            callout_start(order=order)

        assert "status" in error.value.message_dict
        assert Offer.objects.filter(order=order).count() == 5

    def test_a_cancelled_order_cannot_be_called_out(self, desk: Desk) -> None:
        desk.workers(3, km=2)
        order = order_cancel(order=desk.order(2))

        with pytest.raises(ValidationError):
            callout_start(order=order)
        assert not Offer.objects.filter(order=order).exists()

    def test_api_callout_answers_with_the_calling_order_and_its_counts(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        desk.workers(8, km=2)
        order = desk.order(4)

        response = spb_api.post(f"/api/v1/orders/{order.pk}/callout/")

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "calling"
        assert body["booking_target"] == 6
        assert body["counts"]["invited"] == 8
        assert body["counts"]["accepted"] == 0

    def test_api_callout_of_a_calling_order_is_a_400(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        desk.workers(2, km=2)
        order = desk.called(1)

        response = spb_api.post(f"/api/v1/orders/{order.pk}/callout/")

        assert response.status_code == 400
        assert Offer.objects.filter(order=order).count() == 2


class TestWhoIsOffered:
    def test_only_eligible_workers_are_offered(self, desk: Desk) -> None:
        # Booked first, through the real flow, on an order at the same time elsewhere...
        double_booked = desk.worker(2)
        busy_order = desk.book(desk.order(1, site=desk.site_at(1)), [double_booked])
        assert desk.in_state(busy_order, Offer.State.CONFIRMED) == {double_booked.pk}
        # ...and on an order the evening before, which does not overlap.
        booked_earlier = desk.worker(2)
        evening = desk.order(1, start=START - timedelta(hours=12), hours=4)
        desk.book(evening, [booked_earlier])
        assert desk.in_state(evening, Offer.State.CONFIRMED) == {booked_earlier.pk}

        eligible = desk.worker(2)
        general = desk.worker(2, skills=["general"])
        opted_out = desk.worker(2)
        OptOut.objects.create(phone=str(opted_out.phone), opted_out_at=NOW, keyword="STOP")
        suspended = desk.worker(2, status=Worker.Status.SUSPENDED)
        blocked_status = desk.worker(2, status=Worker.Status.BLOCKED)
        applicant = desk.worker(2, status=Worker.Status.APPLICANT, vetted_at=None)
        blocked_by_client = desk.worker(2)
        ClientPreference.objects.create(
            client=desk.client, worker=blocked_by_client, kind=ClientPreference.Kind.BLOCKED
        )
        wrong_skill = desk.worker(2, skills=["roofing", "snow_clearing"])
        too_far = desk.worker(80)

        order = desk.called(10)

        assert desk.offered(order) == {eligible.pk, general.pk, booked_earlier.pk}
        assert desk.told(order, "offer") == {eligible.pk, general.pk, booked_earlier.pk}
        for left_out in (double_booked, opted_out, suspended, blocked_status, applicant,
                         blocked_by_client, wrong_skill, too_far):
            assert left_out.pk not in desk.told(order, "offer")

    def test_a_general_worker_is_not_offered_roofing(self, desk: Desk) -> None:
        general = desk.worker(2, skills=["general"])
        roofer = desk.worker(2, skills=["roofing"])

        order = desk.called(1, work_type="roofing")

        assert desk.offered(order) == {roofer.pk}
        assert general.pk not in desk.offered(order)

    def test_a_favourite_is_ranked_first_and_offered_before_nearer_workers(
        self, desk: Desk
    ) -> None:
        nearer = desk.workers(10, km=1)
        favourite = desk.worker(3.5)
        stranger = desk.worker(3.5)
        ClientPreference.objects.create(
            client=desk.client, worker=favourite, kind=ClientPreference.Kind.FAVOURITE
        )
        order = desk.order(1)

        ranked = candidates_for_order(order, radius_km=10)
        assert ranked[0].worker_id == favourite.pk
        assert ranked[0].is_favourite
        assert ranked[-1].worker_id == stranger.pk

        order = desk.call(order)
        # Target 2 at an expected 0.3 acceptances each: seven offers, the favourite's first.
        assert order.booking_target == 2
        offered = desk.offered(order)
        assert len(offered) == 7
        assert favourite.pk in offered
        assert stranger.pk not in offered
        assert offered <= {w.pk for w in nearer} | {favourite.pk}

    def test_the_nearest_workers_are_offered_however_many_live_around(
        self, desk: Desk
    ) -> None:
        # Many workers registered early, a few km away; a handful who live next door joined
        # later. A small wave must still go to the nearest.
        desk.workers(80, km=6)
        next_door = desk.workers(7, km=0.3)

        order = desk.called(1)

        assert desk.offered(order) == {w.pk for w in next_door}

    def test_offers_carry_the_code_in_the_workers_language(self, desk: Desk) -> None:
        russian = desk.worker(2, language="ru")
        english = desk.worker(2, language="en")

        order = desk.called(1)

        texts = desk.texts(order, "offer")
        [ru_text] = texts[russian.pk]
        [en_text] = texts[english.pk]
        assert ru_text.startswith(f"{order.code}: погрузка 11.03 09:00")
        assert f"ДА {order.code}" in ru_text
        assert f"НЕТ {order.code}" in ru_text
        assert en_text.startswith(f"Job {order.code}: loading 11.03 09:00")
        assert f"Reply YES {order.code} or NO {order.code}" in en_text


class TestWaves:
    def test_wave_one_asks_enough_people_to_expect_the_target(self, desk: Desk) -> None:
        desk.workers(70, km=2)

        order = desk.called(10)

        # Newcomers answer 60 % of offers and accept half of those: 0.3 each, 15 / 0.3 = 50.
        assert order.booking_target == 15
        assert desk.counts(order)["invited"] == 50
        assert Offer.objects.filter(order=order, wave=1).count() == 50

    def test_workers_who_usually_accept_need_a_smaller_wave(self, desk: Desk) -> None:
        # 20 offers received, 20 answered, 18 accepted: (20 + 2.4) / 24 x (18 + 2) / 24.
        desk.workers(70, km=2, offers_received=20, offers_answered=20, offers_accepted=18)

        order = desk.called(10)

        assert desk.counts(order)["invited"] == 20  # 15 / 0.778 -> 20

    def test_waves_stop_once_enough_workers_accept(self, desk: Desk) -> None:
        near = desk.workers(12, km=2)
        ring = desk.workers(6, km=15)
        order = desk.called(2)
        assert order.booking_target == 3
        assert len(desk.offered(order)) == 10
        offered_near = [w for w in near if w.pk in desk.offered(order)]
        for worker in offered_near[:3]:
            desk.accept(worker, order)
        wave_due = Step.objects.get(order=order, kind=Step.Kind.WAVE).due_at

        desk.sweep(at=wave_due)

        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        assert order.waves_sent == 1
        assert not Offer.objects.filter(order=order, wave=2).exists()
        assert not desk.offered(order) & {w.pk for w in ring}
        assert not Step.objects.filter(order=order, kind=Step.Kind.WAVE,
                                       done_at__isnull=True).exists()

    def test_waves_stop_even_before_the_batch_books_the_acceptors(
        self, desk: Desk, settings: Any
    ) -> None:
        # A batch window longer than the wave interval: the wave falls due first.
        set_dispatch(settings, BATCH_WINDOW_MINUTES=30.0)
        near = desk.workers(12, km=2)
        desk.workers(6, km=15)
        order = desk.called(2)
        for worker in [w for w in near if w.pk in desk.offered(order)][:3]:
            desk.accept(worker, order)

        desk.sweep(at=NOW + timedelta(minutes=10))

        order.refresh_from_db()
        assert order.status == Order.Status.CALLING
        assert Offer.objects.filter(order=order).count() == 10
        assert not Step.objects.filter(order=order, kind=Step.Kind.WAVE,
                                       done_at__isnull=True).exists()

    def test_a_wave_waits_while_the_offers_out_may_still_cover_the_gap(self, desk: Desk) -> None:
        near = desk.workers(70, km=2)
        desk.workers(6, km=15)
        order = desk.called(10)
        offered = [w for w in near if w.pk in desk.offered(order)]
        assert len(offered) == 50  # target 15 at 0.3 each
        for worker in offered[:13]:
            desk.accept(worker, order)
        wave_due = Step.objects.get(order=order, kind=Step.Kind.WAVE).due_at

        desk.sweep(at=wave_due)

        # Two places short, and 37 offers of the last ten minutes unanswered, expected to
        # bring 37 x 0.24 / 2 = 4.4 more (0.24: once offered without an answer, a newcomer's
        # reply rate falls to 0.48): no radius is spent, the next look is a wave later.
        order.refresh_from_db()
        assert order.waves_sent == 1
        assert Offer.objects.filter(order=order).count() == 50
        later = Step.objects.get(order=order, kind=Step.Kind.WAVE, done_at__isnull=True)
        assert later.due_at == wave_due + timedelta(minutes=10)

        desk.sweep(at=later.due_at)

        # Twenty minutes of silence is an answer: the second radius is called.
        order.refresh_from_db()
        assert order.waves_sent == 2
        assert Offer.objects.filter(order=order, wave=2).exists()

    def test_waves_widen_the_radius_when_acceptances_fall_short(self, desk: Desk) -> None:
        near = desk.workers(4, km=5)
        ring = desk.workers(4, km=15)
        beyond = desk.workers(3, km=30)
        order = desk.called(2)
        assert desk.offered(order) == {w.pk for w in near}
        desk.accept(near[0], order)
        wave_due = Step.objects.get(order=order, kind=Step.Kind.WAVE).due_at
        assert wave_due == NOW + timedelta(minutes=10)

        desk.sweep(at=wave_due)

        order.refresh_from_db()
        assert order.waves_sent == 2
        wave_two = set(Offer.objects.filter(order=order, wave=2).values_list("worker_id",
                                                                             flat=True))
        assert wave_two == {w.pk for w in ring}
        assert desk.told(order, "offer") == {w.pk for w in near + ring}
        assert not desk.offered(order) & {w.pk for w in beyond}
        # Still short: a third wave is scheduled, a wave interval later.
        next_wave = Step.objects.get(order=order, kind=Step.Kind.WAVE, done_at__isnull=True)
        assert next_wave.due_at == wave_due + timedelta(minutes=10)

    def test_an_empty_first_radius_goes_straight_to_the_next(self, desk: Desk) -> None:
        ring = desk.workers(3, km=15)

        order = desk.called(1)

        assert desk.offered(order) == {w.pk for w in ring}
        assert order.waves_sent == 2

    def test_offers_per_order_are_capped(self, desk: Desk, settings: Any) -> None:
        set_dispatch(settings, MAX_OFFERS_PER_SLOT=2)
        desk.workers(30, km=2)
        desk.workers(30, km=15)
        order = desk.called(2)
        assert order.booking_target == 3
        assert desk.counts(order)["invited"] == 6  # 2 per place of the booking target

        for minutes in (10, 20, 30, 40):
            desk.sweep(at=NOW + timedelta(minutes=minutes))

        assert desk.counts(order)["invited"] == 6

    def test_the_network_wide_cap_holds_too(self, desk: Desk, settings: Any) -> None:
        set_dispatch(settings, MAX_OFFERS_PER_ORDER=12)
        desk.workers(60, km=2)

        order = desk.called(10)

        assert desk.counts(order)["invited"] == 12
        desk.sweep(at=NOW + timedelta(minutes=10))
        assert desk.counts(order)["invited"] == 12


class TestAdaptivePolicy:
    def test_more_reliable_pools_need_fewer_bookings(self, desk: Desk) -> None:
        reliable_site = desk.site
        shaky_site = desk.site_at(200)
        desk.workers(30, km=3, reliability=0.95)
        desk.workers(30, km=3, site=shaky_site, reliability=0.6)

        reliable = desk.called(5, overbook_policy=Order.Policy.ADAPTIVE, site=reliable_site)
        shaky = desk.called(5, overbook_policy=Order.Policy.ADAPTIVE, site=shaky_site)

        # P(at least 5 of 6 come) at 0.95 is 0.967; at 0.6, 13 are needed (0.958).
        assert reliable.booking_target == 6
        assert shaky.booking_target == 13
        assert reliable.status == shaky.status == Order.Status.CALLING

    def test_newcomers_count_at_the_show_rate_the_franchise_has_seen(self, desk: Desk) -> None:
        fresh = desk.called(5, overbook_policy=Order.Policy.ADAPTIVE,
                            site=self._pool_with_history(desk, 200, shows=0, no_shows=0))
        shaky = desk.called(5, overbook_policy=Order.Policy.ADAPTIVE,
                            site=self._pool_with_history(desk, 400, shows=20, no_shows=20))

        # Nothing seen yet: newcomers count at the ratings prior, 0.8; at least 5 of 9 come
        # with chance 0.98, of 8 with 0.94. After 20 of 40 bookings came, at
        # (20 + 0.8 x 20) / 60 = 0.6: 13 are needed (0.97; 12 give 0.94).
        assert fresh.booking_target == 9
        assert shaky.booking_target == 13

    @staticmethod
    def _pool_with_history(desk: Desk, km: float, *, shows: int, no_shows: int) -> Any:
        """A site `km` north with 30 newcomers around it; by then the franchise's last week
        has had `shows` bookings turn up and `no_shows` not (at a site far from the others,
        so none of those workers is a candidate)."""
        site = desk.site_at(km)
        desk.workers(30, km=3, site=site)
        if shows + no_shows:
            past = desk.site_at(km, 300)
            crew = desk.workers(shows + no_shows, km=1, site=past)
            order = desk.book(desk.order(shows + no_shows, site=past), crew)
            booked = list(Offer.objects.filter(order=order).order_by("id"))
            Offer.objects.filter(pk__in=[o.pk for o in booked]).update(
                state=Offer.State.CONFIRMED, attendance=Offer.Attendance.PRESENT)
            Offer.objects.filter(pk__in=[o.pk for o in booked[shows:]]).update(
                attendance=Offer.Attendance.NO_SHOW)
            Order.objects.filter(pk=order.pk).update(
                start=order.start - timedelta(days=7), ends_at=order.ends_at - timedelta(days=7),
                status=Order.Status.COMPLETED)
        return site

    def test_too_few_candidates_fall_back_to_the_house_rule(self, desk: Desk) -> None:
        desk.workers(4, km=3, reliability=0.6)

        order = desk.called(5, overbook_policy=Order.Policy.ADAPTIVE)

        assert order.booking_target == 8  # ceil(1.5 x 5)

    def test_the_fixed_policy_ignores_reliability(self, desk: Desk) -> None:
        desk.workers(30, km=3, reliability=0.95)

        order = desk.called(5)

        assert order.booking_target == 8
