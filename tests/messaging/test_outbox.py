"""The outbox through the real twilio client against a local fake Twilio."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from core import clock
from messaging import services
from messaging.models import Message, OptOut, Status
from messaging.services import sending

from .conftest import inbound_params

pytestmark = pytest.mark.django_db


def queue(worker: Any, body: str = "Job K7Q tomorrow 9:00. Reply YES K7Q") -> Message | None:
    return services.sms_queue(phone=str(worker.phone), body=body, purpose="offer", worker=worker)


def test_a_message_is_sent_once_and_its_sid_stored(
    worker: Any, fake_twilio: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    assert message is not None
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(fake_twilio.messages) == 1
    assert message.provider_sid == fake_twilio.messages[0].sid
    assert fake_twilio.messages[0].to == "+79110000001"
    # A later sweep, even long after, never sends it again.
    later = clock.now() + timedelta(hours=1)
    with clock.use_clock(lambda: later):
        services.outbox_sweep()
    assert len(fake_twilio.messages) == 1


def test_nothing_is_sent_before_the_transaction_commits(worker: Any, fake_twilio: Any) -> None:
    # Without the commit callbacks running, the row waits in the outbox.
    message = queue(worker)
    assert message is not None
    assert message.status == Status.QUEUED
    assert fake_twilio.attempts == 0


def test_a_transient_5xx_is_retried_and_succeeds(
    worker: Any, fake_twilio: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_twilio.fail_next(status=500)
    # The project clock stands still, so the first retry's 1-2 s wait is measured exactly,
    # however slowly the machine runs the test.
    moment = clock.now()
    with clock.use_clock(lambda: moment):
        with django_capture_on_commit_callbacks(execute=True):
            message = queue(worker)
        message.refresh_from_db()
        assert message.status == Status.QUEUED
        assert message.attempts == 1
        assert moment + timedelta(seconds=1) <= message.next_attempt_at
        assert message.next_attempt_at <= moment + timedelta(seconds=2)
        assert fake_twilio.messages == []
        # Not yet due: the sweeper leaves it alone.
        assert services.outbox_sweep() == 0
    later = message.next_attempt_at + timedelta(seconds=1)
    with clock.use_clock(lambda: later):
        assert services.outbox_sweep() == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempts == 2
    assert len(fake_twilio.messages) == 1
    assert message.provider_sid == fake_twilio.messages[0].sid


def test_rate_limiting_answer_429_is_retried(
    worker: Any, fake_twilio: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_twilio.fail_next(status=429, code=20429)
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.error_code == 20429


def test_an_unsubscribed_recipient_fails_without_retry(
    worker: Any, fake_twilio: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_twilio.fail_next(
        status=400, code=21610, message="Attempt to send to unsubscribed recipient"
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.error_code == 21610
    assert fake_twilio.attempts == 1
    # The carrier's word is taken: the number is opted out everywhere from now on.
    assert OptOut.objects.filter(phone="+79110000001").exists()
    later = clock.now() + timedelta(days=1)
    with clock.use_clock(lambda: later):
        services.outbox_sweep()
    assert fake_twilio.attempts == 1


def test_an_invalid_number_fails_without_retry(
    worker: Any, fake_twilio: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    message.refresh_from_db()
    assert (message.status, message.error_code) == (Status.FAILED, 21211)
    assert not OptOut.objects.exists()


def test_gives_up_after_the_configured_attempts(
    worker: Any, fake_twilio: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SMS_MAX_SEND_ATTEMPTS = 3
    for _ in range(3):
        fake_twilio.fail_next(status=503)
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    for _ in range(3):
        message.refresh_from_db()
        if message.status != Status.QUEUED:
            break
        due = message.next_attempt_at + timedelta(seconds=1)
        with clock.use_clock(lambda due=due: due):
            services.outbox_sweep()
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert fake_twilio.attempts == 3


def test_stop_then_a_send_sends_nothing_and_start_re_enables(
    worker: Any, fake_twilio: Any, signed_post: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = signed_post("/webhooks/twilio/sms/", inbound_params("STOP"))
    assert response.status_code == 200
    assert b"<Message>" not in response.content  # Twilio itself confirms a STOP
    with django_capture_on_commit_callbacks(execute=True):
        assert queue(worker) is None
    assert fake_twilio.attempts == 0

    response = signed_post("/webhooks/twilio/sms/", inbound_params("START"))
    assert b"<Message>" in response.content
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    assert message is not None
    assert len(fake_twilio.messages) == 1


def test_a_row_queued_before_stop_is_not_sent_after_it(
    worker: Any, fake_twilio: Any, signed_post: Any
) -> None:
    message = queue(worker)
    signed_post("/webhooks/twilio/sms/", inbound_params("стоп"))
    services.message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert fake_twilio.attempts == 0


def test_segments_and_encoding_are_recorded(worker: Any) -> None:
    russian = queue(worker, body="Работа K7Q завтра 9:00, склад Лента. Ответьте ДА K7Q")
    latin = queue(worker, body="Job K7Q tomorrow 9:00. Reply YES K7Q")
    assert (russian.encoding, russian.segments) == ("UCS-2", 1)
    assert (latin.encoding, latin.segments) == ("GSM-7", 1)
    long_russian = queue(worker, body="Ж" * 71)
    assert long_russian.segments == 2
    assert long_russian.cost_estimate == 2 * russian.cost_estimate


def test_the_simulator_records_at_once(
    worker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(worker)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_sid.startswith("SM")


def test_a_bulk_queue_writes_the_rows_a_single_queue_writes_and_skips_opted_out_numbers(
    worker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    OptOut.objects.create(phone="+79110000003", keyword="STOP", opted_out_at=clock.now())
    long_russian = "Смена завтра, ответьте ДА. " * 6  # three UCS-2 segments
    items = [
        services.SmsItem(phone=str(worker.phone), body="Job K7Q. Reply YES K7Q",
                         purpose="offer", worker_id=worker.pk, validity_period=900),
        services.SmsItem(phone="+79110000002", body=long_russian, purpose="standby"),
        services.SmsItem(phone="+79110000003", body="never sent", purpose="offer"),
        services.SmsItem(phone="+79110000004", body="a\x00b", purpose="release",
                         validity_period=10**6),
    ]

    moment = clock.now()
    with django_capture_on_commit_callbacks() as callbacks, clock.use_clock(lambda: moment):
        ids = services.sms_queue_many(items)
        single = services.sms_queue(phone="+79110000005", body="Job K7Q. Reply YES K7Q",
                                    purpose="offer", worker=worker)

    assert len(ids) == 3
    assert len(callbacks) == 2
    rows = {m.phone: m for m in Message.objects.filter(pk__in=ids)}
    assert set(rows) == {str(worker.phone), "+79110000002", "+79110000004"}
    first, long_one = rows[str(worker.phone)], rows["+79110000002"]
    assert single is not None
    same = ["direction", "body", "encoding", "segments", "cost_estimate", "status", "purpose",
            "worker_id", "attempts", "error_message", "error_code", "provider_sid", "command",
            "created_at", "next_attempt_at", "sent_at", "in_reply_to_id", "order_id"]
    assert {f: getattr(first, f) for f in same} == {f: getattr(single, f) for f in same}
    assert first.validity_period == 900
    assert single.validity_period is None
    assert first.updated_at is not None
    assert (long_one.encoding, long_one.segments) == ("UCS-2", 3)
    assert long_one.cost_estimate == 3 * single.cost_estimate
    assert long_one.worker_id is None
    assert long_one.validity_period is None
    assert rows["+79110000004"].body == "a\ufffdb"
    assert rows["+79110000004"].validity_period == 36000


def queue_many(count: int, *, first_phone: int = 2) -> list[int]:
    return services.sms_queue_many([
        services.SmsItem(phone=f"+7911{first_phone + index:07d}", body=f"Job K7Q no. {index}",
                         purpose="offer")
        for index in range(count)
    ])


def test_a_batch_sends_each_row_once_and_stores_each_sid(
    db: Any, fake_twilio: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # 23 rows: two full chunks of SEND_CHUNK and a part; the task runs on commit.
    with django_capture_on_commit_callbacks(execute=True):
        ids = queue_many(2 * services.SEND_CHUNK + 3)

    sent = {m.to: m.sid for m in fake_twilio.messages}
    assert len(fake_twilio.messages) == len(ids) == len(sent)
    for message in Message.objects.filter(pk__in=ids):
        assert message.status == Status.SENT
        assert message.provider_sid == sent[message.phone]
        assert message.attempts == 1
        assert message.sent_at is not None
        assert message.next_attempt_at is None
    # Sent rows are never sent again, by a second task or the sweeper.
    assert services.messages_send(message_ids=ids) == []
    later = clock.now() + timedelta(hours=1)
    with clock.use_clock(lambda: later):
        assert services.outbox_sweep() == 0
    assert fake_twilio.attempts == len(ids)


def test_in_a_batch_each_row_meets_its_own_fate(db: Any, fake_twilio: Any) -> None:
    ids = queue_many(5)
    OptOut.objects.create(phone="+79110000004", keyword="STOP", opted_out_at=clock.now())
    taken = Message.objects.get(pk=ids[4])
    assert services.message_send(message_id=taken.pk).status == Status.SENT  # another task
    fake_twilio.fail_next(status=503)  # the first row's request

    moment = clock.now()
    with clock.use_clock(lambda: moment):
        outcomes = {o.message_id: o.status for o in services.messages_send(message_ids=ids)}

    assert outcomes == {ids[0]: Status.QUEUED, ids[1]: Status.SENT, ids[3]: Status.SENT,
                        ids[2]: Status.FAILED}
    rows = {m.pk: m for m in Message.objects.filter(pk__in=ids)}
    assert rows[ids[0]].status == Status.QUEUED
    assert rows[ids[0]].attempts == 1
    assert moment + timedelta(seconds=1) <= rows[ids[0]].next_attempt_at
    assert rows[ids[0]].next_attempt_at <= moment + timedelta(seconds=2)
    assert (rows[ids[2]].status, rows[ids[2]].error_code) == (Status.FAILED, 21610)
    assert [m.to for m in fake_twilio.messages] == ["+79110000006", "+79110000003",
                                                   "+79110000005"]
    assert rows[ids[4]].attempts == 1


def test_a_status_callback_that_overtakes_the_batch_write_is_kept(
    db: Any, fake_twilio: Any, monkeypatch: Any
) -> None:
    ids = queue_many(3)
    # Twilio reports the second message delivered before the batch writes it back: the row
    # keeps `delivered`, and gets its sid all the same.
    attempt = sending._attempt

    def then_delivered(message: Message) -> Any:
        outcome, accepted = attempt(message)
        if message.pk == ids[1]:
            Message.objects.filter(pk=message.pk).update(status=Status.DELIVERED)
        return outcome, accepted

    monkeypatch.setattr(sending, "_attempt", then_delivered)
    services.messages_send(message_ids=ids)

    rows = {m.pk: m for m in Message.objects.filter(pk__in=ids)}
    assert [rows[pk].status for pk in ids] == [Status.SENT, Status.DELIVERED, Status.SENT]
    assert {rows[pk].provider_sid for pk in ids} == {m.sid for m in fake_twilio.messages}


def test_a_batch_costs_the_same_statements_however_full_its_chunk(
    db: Any, fake_twilio: Any
) -> None:
    small, full = queue_many(2), queue_many(services.SEND_CHUNK, first_phone=100)

    with CaptureQueriesContext(connection) as few:
        services.messages_send(message_ids=small)
    with CaptureQueriesContext(connection) as many:
        services.messages_send(message_ids=full)

    assert len(few) == len(many)
    assert len(fake_twilio.messages) == 2 + services.SEND_CHUNK


@pytest.mark.parametrize(
    ("waited", "lease"),
    [(0, 30), (29, 30), (59, 30), (60, 60), (119, 60), (130, 120), (300, 240), (86400, 240)],
)
def test_the_handover_lease_doubles_with_the_wait_up_to_four_minutes(
    waited: int, lease: int
) -> None:
    assert services.handover_lease(timedelta(seconds=waited)) == timedelta(seconds=lease)


@given(st.integers(min_value=0, max_value=10**7))
def test_the_handover_lease_never_exceeds_the_wait_unless_it_is_the_grace(waited: int) -> None:
    lease = services.handover_lease(timedelta(seconds=waited))
    assert services.LOST_TASK_GRACE <= lease <= services.MAX_HANDOVER_LEASE
    assert lease <= max(timedelta(seconds=waited), services.LOST_TASK_GRACE)

