"""On site: attendance from the foreman, check-in by SMS, quality scores, completion."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import clock, hooks
from messaging.services import sms_queue
from ratings.models import RatingEvent
from ratings.scoring import EventKind
from ratings.services import rating_event_record, worker_ratings_recompute

from .. import states, texts
from ..event_notes import Note, note_write
from ..models import Offer, Order
from ..selectors import crew_split_of
from .lifecycle import no_shows_mark
from .notify import amount_text, notify_workers, order_values
from .steps import steps_cancel

# The foreman may record attendance from an hour before the start until a week after the end.
ATTENDANCE_OPENS = timedelta(minutes=60)
ATTENDANCE_CLOSES = timedelta(days=7)
# A worker may text HERE from an hour before the start until the end of the shift.
CHECK_IN_OPENS = timedelta(minutes=60)
# Arriving later than this after the start is "late".
LATE_AFTER = timedelta(minutes=15)
# A client's bare "1".."5" answers our latest request to score a crew only while the request
# is this recent: a digit weeks later (a client correcting today's score) must not rate an
# old crew nobody remembers. Three days covers a weekend and a slow reply.
CLIENT_SCORE_ANSWERS_WITHIN = timedelta(days=3)

ATTENDANCE_EVENT: dict[str, EventKind] = {
    Offer.Attendance.PRESENT: EventKind.SHOW,
    Offer.Attendance.LATE: EventKind.LATE,
    Offer.Attendance.NO_SHOW: EventKind.NO_SHOW,
}


@dataclass(frozen=True)
class AttendanceEntry:
    """One worker's attendance. `hours` None keeps what is recorded (the whole shift at
    completion); `kept` None keeps the mark as it is, True marks an extra worker kept at the
    client's request (billed and paid the hours), False takes the mark back."""

    worker_id: int
    status: str
    hours: Decimal | None = None
    kept: bool | None = None


CAME = (Offer.Attendance.PRESENT, Offer.Attendance.LATE)


def _attendance_open(order: Order, now: Any) -> bool:
    return order.start - ATTENDANCE_OPENS <= now <= order.ends_at + ATTENDANCE_CLOSES


def _set_attendance(order: Order, offer: Offer, status: str, now: Any) -> bool:
    """Write one worker's attendance and its rating event; a repeat changes nothing, a
    correction reverses the earlier event. Returns True when something changed."""
    previous = offer.attendance
    if previous == status:
        return False
    # An excused no-show (reversed on appeal) has no standing event left to reverse.
    earlier_kind = ATTENDANCE_EVENT.get(previous) if previous is not None else None
    if earlier_kind is not None:
        # A correction: the earlier verdict stops counting, the figures are restated.
        RatingEvent.objects.filter(
            worker_id=offer.worker_id, order_ref=order.pk, reversed_at__isnull=True,
            kind=earlier_kind,
        ).update(reversed_at=now, note=note_write(Note.CORRECTED, status=status))
    offer.attendance = status
    if status != Offer.Attendance.NO_SHOW and offer.checked_in_at is None:
        offer.checked_in_at = now
    written = ["attendance", "checked_in_at"]
    if offer.state == Offer.State.STANDBY:
        # A standby who worked is part of the crew.
        states.offer_move(offer, to=Offer.State.CONFIRMED, also=written)
    else:
        offer.save(update_fields=written)
    if earlier_kind is not None:
        worker_ratings_recompute(worker=offer.worker)
    rating_event_record(
        worker=offer.worker, kind=ATTENDANCE_EVENT[status], order_ref=order.pk,
        note=note_write(Note.ATTENDANCE_CORRECTION if previous else Note.ATTENDANCE,
                        status=status, code=order.code),
    )
    return True


def _start_work(order: Order) -> None:
    if order.status in (Order.Status.CALLING, Order.Status.FILLED):
        states.order_move(order, to=Order.Status.IN_PROGRESS)


QUARTER_HOUR = Decimal("0.25")


def hours_refusal(hours: Decimal, *, shift_hours: Decimal) -> str | None:
    """Why `hours` worked cannot be recorded on a shift of `shift_hours`, or None.

    Payroll counts quarter hours (7.25 is 7 h 15 min; 7.3 is no time on a clock), and a shift
    runs over by at most the setting `DISPATCH["MAX_OVERTIME_HOURS"]`: 10 hours on a 4-hour
    shift is a typing slip, and it would be billed and paid."""
    if hours < 0:
        return _("Hours worked cannot be negative.")
    if hours % QUARTER_HOUR != 0:
        return _("Hours are counted to the quarter hour: %(hours)s is not one; type 7.25 for "
                 "7 h 15 min, 7.5 for 7 h 30 min.") % {"hours": _plain(hours)}
    overtime = Decimal(str(settings.DISPATCH["MAX_OVERTIME_HOURS"]))
    most = shift_hours + overtime
    if hours > most:
        return _("%(hours)s hours is more than this %(shift)s-hour shift plus %(overtime)s "
                 "hours of overtime allow (%(most)s at most).") % {
            "hours": _plain(hours), "shift": _plain(shift_hours),
            "overtime": _plain(overtime), "most": _plain(most)}
    return None


def _plain(hours: Decimal) -> str:
    """7.25, 7.5 and 8 as a person writes them (not 8.00 nor 1E+1)."""
    return f"{hours.normalize():f}"


@transaction.atomic
def attendance_record(*, order: Order, entries: list[AttendanceEntry]) -> list[Offer]:
    """The foreman's attendance list: present, late or no-show, with hours worked.

    All or nothing: one bad entry (a worker not on this crew) rejects the whole list. On a
    completed order (corrections are taken for a week after the end) the completion hooks run
    again, so the invoice and pay lines follow the corrected hours.
    """
    now = clock.now()
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status in (Order.Status.DRAFT, Order.Status.CANCELLED):
        raise ValidationError(
            {"status": [_("Attendance cannot be taken on a %(status)s order.")
                        % {"status": order.status}]}
        )
    if not _attendance_open(order, now):
        raise ValidationError(
            {"detail": [_("Attendance opens an hour before the start and closes a week after "
                          "the end.")]}
        )
    offers = {
        offer.worker_id: offer
        for offer in order.offers.filter(
            state__in=[Offer.State.CONFIRMED, Offer.State.STANDBY],
            worker_id__in=[entry.worker_id for entry in entries],
        ).select_related("worker")
    }
    missing = [entry.worker_id for entry in entries if entry.worker_id not in offers]
    if missing:
        raise ValidationError({"worker": [_("Not on this crew: %(workers)s.")
                                          % {"workers": sorted(set(missing))}]})
    unkeepable = [entry.worker_id for entry in entries
                  if entry.kept and entry.status == Offer.Attendance.NO_SHOW]
    if unkeepable:
        raise ValidationError({"kept": [
            _("Only a worker who came can be kept at the client's request: %(workers)s "
              "marked no-show.") % {"workers": sorted(unkeepable)}
        ]})
    for entry in entries:
        if entry.status != Offer.Attendance.NO_SHOW and entry.hours is not None:
            refusal = hours_refusal(entry.hours, shift_hours=order.hours)
            if refusal:
                raise ValidationError({"hours": [refusal]})
    for entry in entries:
        offer = offers[entry.worker_id]
        _set_attendance(order, offer, entry.status, now)
        hours = None if entry.status == Offer.Attendance.NO_SHOW else entry.hours
        changes = _entry_changes(entry, hours)
        if changes:
            Offer.objects.filter(pk=offer.pk).update(**changes)
    if order.status == Order.Status.COMPLETED:
        # A correction after completion: hours are confirmed as completion confirms them, and
        # what was billed and paid follows (turnover is confirmed hours x bill rate).
        _confirm_hours(order)
        for listener in hooks.order_completed:
            listener(order)
    _start_work(order)
    return list(order.offers.filter(worker_id__in=offers))


def _entry_changes(entry: AttendanceEntry, hours: Decimal | None) -> dict[str, Any]:
    """What an attendance entry writes on the offer besides its status: the hours, and the
    kept mark."""
    changes: dict[str, Any] = {}
    if hours is not None or entry.status == Offer.Attendance.NO_SHOW:
        changes["hours_worked"] = hours
    if entry.status == Offer.Attendance.NO_SHOW:
        # Nobody is kept, or sent home, who did not come.
        changes.update(kept=False, sent_home_at=None)
    elif entry.kept is not None:
        changes["kept"] = entry.kept
        if entry.kept:
            changes["sent_home_at"] = None  # the client's word came after: they stay
    return changes


def _confirm_hours(order: Order) -> None:
    """Anyone present without hours recorded worked the whole shift, except those the
    foreman sent home: they worked none (their pay is the show-up fee)."""
    order.offers.filter(
        attendance__in=CAME, hours_worked__isnull=True, sent_home_at__isnull=True,
    ).update(hours_worked=order.hours)


@transaction.atomic
def surplus_keep(*, order: Order, worker_id: int, kept: bool) -> Offer:
    """Mark a worker who came as kept at the client's request (billed and paid the hours
    beyond the headcount), or take the mark back; the attendance stays as recorded. On a
    completed order the books follow, as for any attendance correction. ValidationError when
    the worker did not come."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    attendance = order.offers.filter(worker_id=worker_id, attendance__in=CAME).values_list(
        "attendance", flat=True).first()
    if attendance is None:
        raise ValidationError({"worker": [_("Only a worker checked in on this order can be "
                                            "kept at the client's request.")]})
    [offer] = attendance_record(order=order, entries=[
        AttendanceEntry(worker_id, attendance, kept=kept)])
    return offer


@transaction.atomic
def surplus_send_home(*, order: Order, worker_id: int) -> bool:
    """The foreman sends home a worker who came beyond the headcount and whom the client has
    not asked to keep: the SMS says the franchise's show-up fee, which the books pay them
    (dispatch/surplus.py decides who is beyond the headcount). Once: a repeat changes nothing
    and texts nothing (returns False). ValidationError when the worker did not come, is one
    of the headcount or kept, or the order is not on site."""
    now = clock.now()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
        .get(pk=order.pk)
    )
    if order.status not in (Order.Status.CALLING, Order.Status.FILLED,
                            Order.Status.IN_PROGRESS):
        raise ValidationError(
            {"status": [_("Nobody is sent home from a %(status)s order.")
                        % {"status": order.get_status_display().lower()}]}
        )
    offer = order.offers.filter(worker_id=worker_id, attendance__in=CAME).select_related(
        "worker").first()
    if offer is None:
        raise ValidationError({"worker": [_("Only a worker checked in on this order can be "
                                            "sent home.")]})
    if offer.sent_home_at is not None:
        return False
    split = crew_split_of(order)[0]
    if worker_id not in split.sent_home:
        if worker_id in split.kept:
            refusal = _("%(name)s is kept at the client's request: only a worker beyond the "
                        "headcount goes home.") % {"name": offer.worker.name}
        else:
            refusal = _("%(name)s is one of the %(headcount)s the client ordered: only a worker "
                        "beyond the headcount goes home.") % {
                "name": offer.worker.name, "headcount": order.headcount}
        raise ValidationError({"worker": [refusal]})
    Offer.objects.filter(pk=offer.pk).update(sent_home_at=now)
    fee = order.franchise.show_up_fee
    notify_workers(
        order, [(offer.worker_id, str(offer.worker.phone), offer.worker.language)],
        "sent_home" if fee > 0 else "sent_home_no_fee", "sent_home", fee=amount_text(fee),
    )
    return True


@dataclass(frozen=True)
class CheckInResult:
    recorded: bool
    reason: str  # "ok", "repeat", "not_on_crew", "too_early", "too_late"


@transaction.atomic
def check_in(*, order: Order, worker: Any, now: Any = None) -> CheckInResult:
    """A worker's own check-in (HERE K7Q), accepted from an hour before the start to the end."""
    now = now or clock.now()
    order = Order.objects.select_for_update().get(pk=order.pk)
    offer = order.offers.filter(
        worker=worker, state__in=[Offer.State.CONFIRMED, Offer.State.STANDBY]
    ).select_related("worker").first()
    if offer is None or order.status in (Order.Status.CANCELLED, Order.Status.COMPLETED):
        return CheckInResult(False, "not_on_crew")
    if now < order.start - CHECK_IN_OPENS:
        return CheckInResult(False, "too_early")
    if now > order.ends_at:
        return CheckInResult(False, "too_late")
    if offer.attendance in (Offer.Attendance.PRESENT, Offer.Attendance.LATE):
        return CheckInResult(False, "repeat")
    status = Offer.Attendance.LATE if now > order.start + LATE_AFTER else Offer.Attendance.PRESENT
    _set_attendance(order, offer, status, now)
    _start_work(order)
    return CheckInResult(True, "ok")


@dataclass(frozen=True)
class FeedbackEntry:
    worker_id: int
    score: int
    source: str


@transaction.atomic
def feedback_record(*, order: Order, entries: list[FeedbackEntry]) -> int:
    """Quality scores (1-5) from the foreman or the client for workers who came.

    One score counts per order, worker and source. The same score again (a retried request,
    a double tap) changes nothing; a different score from the same source replaces the
    earlier one, which stays on record as reversed while the figures are restated without it
    (as an appeal reverses a no-show). The order's row lock makes two requests at once take
    turns. Returns how many scores were recorded (new or replacing).
    """
    now = clock.now()
    order = Order.objects.select_for_update().get(pk=order.pk)
    came = {
        offer.worker_id: offer
        for offer in order.offers.filter(
            attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE]
        ).select_related("worker")
    }
    missing = [entry.worker_id for entry in entries if entry.worker_id not in came]
    if missing:
        raise ValidationError({"worker": [_("Did not work this shift: %(workers)s.")
                                          % {"workers": sorted(set(missing))}]})
    standing: dict[tuple[int, str], list[RatingEvent]] = {}
    for event in RatingEvent.objects.filter(
        order_ref=order.pk, kind=EventKind.SCORE, reversed_at__isnull=True,
        worker_id__in=[entry.worker_id for entry in entries],
    ).order_by("id"):
        standing.setdefault((event.worker_id, event.source), []).append(event)
    recorded = 0
    for entry in entries:
        key = (entry.worker_id, entry.source)
        earlier = standing.get(key, [])
        if [event.score for event in earlier] == [entry.score]:
            continue
        worker = came[entry.worker_id].worker
        if earlier:
            RatingEvent.objects.filter(pk__in=[event.pk for event in earlier]).update(
                reversed_at=now, note=note_write(Note.SCORE_REPLACED, source=entry.source,
                                                 score=entry.score)
            )
            worker_ratings_recompute(worker=worker)
        standing[key] = [rating_event_record(
            worker=worker, kind=EventKind.SCORE, score=entry.score, source=entry.source,
            order_ref=order.pk, note=note_write(Note.SCORE, source=entry.source, code=order.code),
        )]
        recorded += 1
    return recorded


@transaction.atomic
def order_complete(*, order: Order) -> Order:
    """Close the order once it has started: hours are confirmed (the shift's length for
    anyone present without hours recorded).

    Completion cancels the order's steps, the no-show check among them, so whoever was
    confirmed before the start and has no attendance is marked a no-show here, as the check
    would have done (completing within the grace period must not excuse anyone); the check
    itself then finds nothing left to mark."""

    now = clock.now()
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.COMPLETED:
        return order
    if order.status in (Order.Status.DRAFT, Order.Status.CANCELLED):
        raise ValidationError({"status": [_("A %(status)s order cannot be completed.")
                                          % {"status": order.status}]})
    if now < order.start:
        raise ValidationError({"start": [_("An order can be completed once it has started.")]})
    no_shows_mark(order=order)
    _confirm_hours(order)
    # An order completed before anyone checked in passes through in progress unwritten.
    unstarted = order.status in (Order.Status.CALLING, Order.Status.FILLED)
    states.order_move(order, to=Order.Status.COMPLETED,
                      via=Order.Status.IN_PROGRESS if unstarted else None, completed_at=now)

    steps_cancel(order=order)
    # Billing (above dispatch) writes the invoice and pay lines; each listener is idempotent.
    for listener in hooks.order_completed:
        listener(order)
    _ask_client_feedback(order)
    return order


def _ask_client_feedback(order: Order) -> None:


    client = order.client
    if not client.phone or not order.offers.filter(
        attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE]
    ).exists():
        return
    order = Order.objects.select_related("franchise", "site").get(pk=order.pk)
    sms_queue(
        phone=str(client.phone),
        body=texts.render("client_feedback", "ru", **order_values(order, "ru")),
        purpose="client_feedback",
        order=order,
    )


@transaction.atomic
def client_score_record(*, order: Order, score: int) -> bool:
    """The client's score of the whole crew becomes a client quality event for each worker
    who came; only the first answer counts."""
    if not 1 <= score <= 5:
        raise ValidationError({"score": [_("A score is a whole number from 1 to 5.")]})
    if not Order.objects.filter(pk=order.pk, client_score__isnull=True).update(client_score=score):
        return False
    came = order.offers.filter(
        attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE]
    ).values_list("worker_id", flat=True)
    feedback_record(
        order=order, entries=[FeedbackEntry(worker_id, score, "client") for worker_id in came]
    )
    return True
