"""Workers' SMS answers to offers (CONTRACT.md §3), as they arrive: through the inbound
service and the signed Twilio webhook."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from twilio.request_validator import RequestValidator

from dispatch.models import Offer, Order, Step
from dispatch.services import replies
from messaging.models import Direction, Message
from messaging.services import inbound_receive
from workers.models import Worker

from .conftest import NOW, START, Desk, next_sid

pytestmark = pytest.mark.django_db

ACCEPT_WORDS = ["YES", "Y", "1", "+", "OK", "DA", "ДА", "yes", "Да"]
DECLINE_WORDS = ["NO", "N", "0", "-", "NET", "НЕТ", "no"]


def _unused_code(*taken: str) -> str:
    return next(code for code in ("Q7Z", "W9X", "R8M") if code not in taken)


def _answered(order: Order) -> list[tuple[int, str | None, str]]:
    return list(
        Offer.objects.filter(order=order).exclude(response__isnull=True)
        .values_list("worker_id", "response", "state")
    )


class TestAccept:
    @pytest.mark.parametrize("word", ACCEPT_WORDS)
    def test_each_accept_word_with_the_code_records_the_acceptance(
        self, desk: Desk, word: str
    ) -> None:
        worker = desk.worker(2)
        order = desk.called(2)

        result = desk.reply(worker, f"{word} {order.code}")

        offer = desk.offer(order, worker)
        assert offer.response == Offer.Response.ACCEPTED
        assert offer.responded_at == NOW
        assert offer.state == Offer.State.OFFERED  # accepting is not yet being booked
        # The batch runs two minutes later: 12:02 in Saint Petersburg.
        assert result.reply == f"Принято {order.code}. Бригаду подтвердим до 12:02"
        assert desk.counts(order)["accepted"] == 1
        assert Step.objects.filter(kind=Step.Kind.ASSIGN, franchise=desk.franchise,
                                   done_at__isnull=True).count() == 1

    def test_the_reply_is_in_the_workers_language(self, desk: Desk) -> None:
        worker = desk.worker(2, language="en")
        order = desk.called(2)

        result = desk.reply(worker, f"yes {order.code.lower()}")

        assert result.reply == f"Thanks, {order.code} noted. Crews are confirmed by 12:02."

    def test_a_lone_yes_answers_the_only_open_offer(self, desk: Desk) -> None:
        worker = desk.worker(2)
        order = desk.called(2)

        result = desk.reply(worker, "Да")

        assert desk.offer(order, worker).response == Offer.Response.ACCEPTED
        assert result.reply.startswith(f"Принято {order.code}.")
        assert result.message.order_id == order.pk

    def test_a_lone_yes_skips_offers_already_answered(self, desk: Desk) -> None:
        worker = desk.worker(2)
        first = desk.called(1)
        second = desk.called(1, site=desk.site_at(1))
        desk.reply(worker, f"NO {first.code}")

        desk.reply(worker, "YES")

        assert desk.offer(first, worker).response == Offer.Response.DECLINED
        assert desk.offer(second, worker).response == Offer.Response.ACCEPTED

    def test_a_lone_yes_with_several_open_offers_asks_which_and_records_nothing(
        self, desk: Desk
    ) -> None:
        worker = desk.worker(2, language="en")
        first = desk.called(1)
        second = desk.called(1, site=desk.site_at(1))

        result = desk.reply(worker, "YES")

        assert result.reply == (
            f"Which job? {first.code}, {second.code}. E.g. YES {first.code}"
        )
        assert _answered(first) == _answered(second) == []
        worker.refresh_from_db()
        assert (worker.offers_answered, worker.offers_accepted) == (0, 0)
        assert not Step.objects.filter(kind=Step.Kind.ASSIGN).exists()

    def test_a_lone_no_with_several_open_offers_suggests_a_no(self, desk: Desk) -> None:
        worker = desk.worker(2, language="en")
        first = desk.called(1)
        second = desk.called(1, site=desk.site_at(1))

        result = desk.reply(worker, "no")

        assert result.reply == f"Which job? {first.code}, {second.code}. E.g. NO {first.code}"
        assert _answered(first) == _answered(second) == []

    def test_a_lone_yes_without_open_offers_says_so(self, desk: Desk) -> None:
        worker = desk.worker(2, language="en")

        result = desk.reply(worker, "YES")

        assert result.reply == "You have no open job offers right now."

    def test_an_unknown_code_says_so(self, desk: Desk) -> None:
        worker = desk.worker(2, language="en")
        order = desk.called(2)
        code = _unused_code(order.code)

        result = desk.reply(worker, f"YES {code}")

        assert result.reply == f"We can't find job {code} for you. Check the code."
        assert _answered(order) == []

    def test_a_code_of_an_order_the_worker_was_not_offered_is_unknown(
        self, desk: Desk
    ) -> None:
        outsider = desk.worker(2, skills=["roofing"])
        desk.worker(2)
        order = desk.called(2)

        result = desk.reply(outsider, f"ДА {order.code}")

        assert result.reply == f"Заказ {order.code} не найден. Проверьте код"
        assert _answered(order) == []

    def test_a_second_yes_is_not_a_second_acceptance(self, desk: Desk) -> None:
        worker = desk.worker(2)
        order = desk.called(2)

        first = desk.reply(worker, f"YES {order.code}")
        second = desk.reply(worker, f"OK {order.code}")

        assert second.reply == first.reply
        assert desk.counts(order)["accepted"] == 1
        worker.refresh_from_db()
        assert (worker.offers_received, worker.offers_answered, worker.offers_accepted) == (
            1, 1, 1,
        )

    def test_no_after_yes_does_not_undo_the_acceptance(self, desk: Desk) -> None:
        worker = desk.worker(2)
        order = desk.called(2)
        desk.reply(worker, f"YES {order.code}")

        desk.reply(worker, f"NO {order.code}")

        offer = desk.offer(order, worker)
        assert offer.response == Offer.Response.ACCEPTED
        assert desk.counts(order)["accepted"] == 1

    def test_the_workers_offer_counters_move(self, desk: Desk) -> None:
        taker, decliner, silent = desk.workers(3, km=2)
        order = desk.called(2)

        desk.accept(taker, order)
        desk.reply(decliner, f"NO {order.code}")

        counters = {
            w.pk: (w.offers_received, w.offers_answered, w.offers_accepted)
            for w in Worker.objects.filter(pk__in=[taker.pk, decliner.pk, silent.pk])
        }
        assert counters == {
            taker.pk: (1, 1, 1),
            decliner.pk: (1, 1, 0),
            silent.pk: (1, 0, 0),
        }

    def test_yes_after_the_order_filled_is_told_it_is_full(self, desk: Desk) -> None:
        first, second, late = desk.workers(3, km=2, language="en")
        order = desk.called(1)
        assert order.booking_target == 2
        desk.accept(first, order)
        desk.accept(second, order)
        desk.run_batch()
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED

        result = desk.accept(late, order)

        assert result.reply == f"{order.code} is already full, thank you. More jobs soon."
        offer = desk.offer(order, late)
        assert offer.response == Offer.Response.ACCEPTED
        assert offer.state == Offer.State.RELEASED
        counts = desk.counts(order)
        assert counts["accepted"] == 3
        assert counts["confirmed"] == 2
        late.refresh_from_db()
        assert (late.offers_answered, late.offers_accepted) == (1, 1)


class TestDecline:
    @pytest.mark.parametrize("word", DECLINE_WORDS)
    def test_each_decline_word_declines_with_a_one_line_acknowledgement(
        self, desk: Desk, word: str
    ) -> None:
        worker = desk.worker(2)
        order = desk.called(2)

        result = desk.reply(worker, f"{word} {order.code}")

        offer = desk.offer(order, worker)
        assert offer.response == Offer.Response.DECLINED
        assert offer.state == Offer.State.RELEASED
        assert result.reply == f"Понятно, {order.code} отклонено. Спасибо"
        assert "\n" not in result.reply
        assert desk.counts(order)["accepted"] == 0
        assert not Step.objects.filter(kind=Step.Kind.ASSIGN).exists()

    def test_the_decline_is_acknowledged_in_english(self, desk: Desk) -> None:
        worker = desk.worker(2, language="en")
        order = desk.called(2)

        result = desk.reply(worker, f"no {order.code}")

        assert result.reply == f"OK, {order.code} declined. Thank you."

    def test_a_decliner_is_not_told_again_when_the_order_fills(self, desk: Desk) -> None:
        decliner, first, second = desk.workers(3, km=2)
        order = desk.called(1)
        desk.reply(decliner, f"NO {order.code}")
        desk.accept(first, order)
        desk.accept(second, order)

        desk.run_batch()

        assert decliner.pk not in desk.told(order, "release")
        assert desk.told(order, "confirmation") == {first.pk, second.pk}


class TestWebhook:
    def _post(self, settings: Any, worker: Worker, body: str, sid: str) -> Any:
        token = "dispatch-test-token"
        settings.TWILIO_AUTH_TOKEN = token
        params = {
            "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": str(worker.phone),
            "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1",
        }
        url = "http://testserver/webhooks/twilio/sms/"
        signature = RequestValidator(token).compute_signature(url, params)
        return HttpClient().post("/webhooks/twilio/sms/", params,
                                 HTTP_X_TWILIO_SIGNATURE=signature)

    def test_a_signed_yes_is_recorded_and_answered_in_twiml(
        self, desk: Desk, settings: Any
    ) -> None:
        worker = desk.worker(2, language="en")
        order = desk.called(2)

        response = self._post(settings, worker, f"YES {order.code}", next_sid())

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
        assert f"<Message>Thanks, {order.code} noted." in response.content.decode()
        assert desk.offer(order, worker).response == Offer.Response.ACCEPTED

    def test_a_retried_delivery_is_not_a_second_answer(
        self, desk: Desk, settings: Any
    ) -> None:
        worker = desk.worker(2)
        order = desk.called(2)
        sid = next_sid()

        first = self._post(settings, worker, f"YES {order.code}", sid)
        again = self._post(settings, worker, f"YES {order.code}", sid)

        assert first.status_code == again.status_code == 200
        assert again.content == first.content
        assert Message.objects.filter(direction=Direction.IN, provider_sid=sid).count() == 1
        worker.refresh_from_db()
        assert (worker.offers_answered, worker.offers_accepted) == (1, 1)


class TestReads:
    """The offer and booking reads of a reply are written as SQL; they must give what the
    ORM gives, related objects included, at a cost that does not grow with the history."""

    def test_the_offer_found_for_a_code_is_the_orms_offer_with_its_order_site_and_franchise(
        self, desk: Desk, django_assert_num_queries: Any
    ) -> None:
        worker = desk.worker(2)
        order = desk.called(2)

        found = replies._find_offer(worker, order.code)

        expected = Offer.objects.select_related(
            "order", "order__franchise", "order__site"
        ).get(order=order, worker=worker)
        with django_assert_num_queries(0):
            pairs = [
                (found, expected),
                (found.order, expected.order),
                (found.order.franchise, expected.order.franchise),
                (found.order.site, expected.order.site),
            ]
        for ours, orms in pairs:
            assert type(ours) is type(orms)
            assert model_to_dict(ours) == model_to_dict(orms)
            assert ours._state.adding is False
        # Converted values, not the database's raw ones.
        assert found.order.start == expected.order.start
        assert isinstance(found.order.pay_rate, Decimal)

    def test_a_code_of_an_order_that_is_over_finds_nothing(self, desk: Desk) -> None:
        worker = desk.worker(2)
        order = desk.called(2)
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

        assert replies._find_offer(worker, order.code) is None
        assert replies.open_offers(worker) == []

    def test_open_offers_come_soonest_start_first(self, desk: Desk) -> None:
        worker = desk.worker(2)
        later = desk.called(2, start=START + timedelta(days=1))
        sooner = desk.called(2)

        assert [o.order.code for o in replies.open_offers(worker)] == [sooner.code, later.code]

    def test_a_reply_costs_the_same_statements_however_many_offers_a_worker_has_had(
        self, desk: Desk
    ) -> None:
        worker = desk.worker(2)

        def statements(body: str) -> int:
            with CaptureQueriesContext(connection) as queries:
                desk.reply(worker, body)
            return len(queries)

        few = [statements("YES QQQ"), statements("NO"), statements("HERE QQQ")]
        for _ in range(6):
            order = desk.called(2)
            desk.accept(worker, order)
        many = [statements("YES QQQ"), statements("NO"), statements("HERE QQQ")]

        assert many == few


class TestTakingBackAYes:
    """A yes is not yet a booking: until the batch books the worker, NO or CANCEL takes it
    back without a penalty; the yes still counts among the order's acceptances."""

    @pytest.mark.parametrize("word", ["NO", "CANCEL"])
    def test_before_the_batch_the_worker_is_left_out_of_it(self, desk: Desk, word: str) -> None:
        changed_mind, keen = desk.workers(2, km=2, language="en")
        order = desk.called(2)
        desk.accept(changed_mind, order)
        desk.accept(keen, order)

        reply = desk.reply(changed_mind, f"{word} {order.code}").reply
        desk.run_batch()

        assert reply == f"OK, {order.code} declined. Thank you."
        assert desk.in_state(order, Offer.State.CONFIRMED) == {keen.pk}
        assert desk.offer(order, changed_mind).state == Offer.State.RELEASED
        assert desk.counts(order)["accepted"] == 2
        assert not changed_mind.rating_events.exists()

    def test_after_the_batch_it_is_a_withdrawal_from_the_booking(self, desk: Desk) -> None:
        worker = desk.worker(2, language="en")
        order = desk.book(desk.order(1), [worker])

        reply = desk.reply(worker, f"NO {order.code}").reply

        assert desk.offer(order, worker).state == Offer.State.CANCELLED
        assert order.code in reply
        assert "declined" not in reply


class TestRunningOrders:
    """Once a crew is at work, the call-out's leftover offers stay open only while the crew
    is short (urgent offers fill the gap)."""

    def _running(self, desk: Desk, headcount: int) -> tuple[Order, Worker]:
        starter, waiting = desk.workers(2, km=2, language="en")
        order = desk.book(desk.order(headcount), [starter])
        desk.at(START - timedelta(minutes=20))
        desk.reply(starter, f"HERE {order.code}")
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS
        assert desk.offer(order, waiting).state == Offer.State.OFFERED
        return order, waiting

    def test_a_full_crew_leaves_no_open_offer(self, desk: Desk) -> None:
        order, waiting = self._running(desk, headcount=1)
        other = desk.called(2, start=START + timedelta(days=1))

        assert [o.order.code for o in replies.open_offers(waiting)] == [other.code]
        reply = desk.reply(waiting, "YES").reply
        assert order.code not in reply
        assert desk.offer(order, waiting).response is None

    def test_a_short_crew_keeps_the_offer_open_and_a_yes_books_at_once(self, desk: Desk) -> None:
        order, waiting = self._running(desk, headcount=2)

        assert [o.order.code for o in replies.open_offers(waiting)] == [order.code]
        desk.reply(waiting, "YES")
        assert desk.offer(order, waiting).state == Offer.State.CONFIRMED

    def test_the_call_back_line_books_on_a_short_running_crew(
        self, desk: Desk, settings: Any
    ) -> None:
        order, waiting = self._running(desk, headcount=2)
        offer = desk.offer(order, waiting)
        http = HttpClient()
        path = f"/webhooks/twilio/voice/?offer={offer.token}"
        params = {"CallSid": "CA9", "From": str(waiting.phone), "Digits": "1"}
        settings.TWILIO_AUTH_TOKEN = "voice-token"
        signature = RequestValidator("voice-token").compute_signature(
            f"http://testserver{path}", params
        )

        response = http.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

        assert response.status_code == 200
        assert "on the crew" in response.content.decode()
        assert desk.offer(order, waiting).state == Offer.State.CONFIRMED


class TestStrangers:
    @pytest.mark.parametrize("body", ["CANCEL K7Q", "APPEAL K7Q", "HERE K7Q", "NO K7Q"])
    def test_an_unknown_number_is_told_how_to_register(self, desk: Desk, body: str) -> None:
        reply = inbound_receive(provider_sid=next_sid(), sender="+79995550123", body=body).reply
        assert "JOIN" in reply


class TestOptedOut:
    def test_an_acceptance_from_a_number_that_opted_out_since_is_not_booked(
        self, desk: Desk
    ) -> None:
        quitter, *others = desk.workers(3, km=2)
        order = desk.called(2)
        for worker in (quitter, *others):
            desk.accept(worker, order)
        desk.reply(quitter, "STOP")

        desk.run_batch()

        assert desk.in_state(order, Offer.State.CONFIRMED) == {w.pk for w in others}
        assert not Message.objects.filter(
            worker=quitter, purpose="confirmation", direction=Direction.OUT
        ).exists()
