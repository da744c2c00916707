"""Orders, the offers sent for them, and each offer's life from invitation to attendance."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clients.models import Client, Lead, Site, WorkType
from franchises.models import Franchise
from workers.models import Worker


class IllegalTransition(Exception):
    """A state change the transition table does not allow."""


class Order(models.Model):
    franchise_scope = "franchise"
    foreman_scope = "foreman"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CALLING = "calling", _("Calling workers")
        FILLED = "filled", _("Filled")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Policy(models.TextChoices):
        FIXED = "fixed", _("Fixed ratio (15 for 10)")
        ADAPTIVE = "adaptive", _("Adaptive (from reliabilities)")

    # Which status may follow which (dispatch/states.py writes them); anything else raises
    # IllegalTransition.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.CALLING, Status.CANCELLED}),
        Status.CALLING: frozenset({Status.FILLED, Status.IN_PROGRESS, Status.CANCELLED}),
        Status.FILLED: frozenset({Status.CALLING, Status.IN_PROGRESS, Status.CANCELLED}),
        Status.IN_PROGRESS: frozenset({Status.COMPLETED}),
        Status.COMPLETED: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    # Statuses in which the order code must be unique (a worker may text it).
    OPEN_STATUSES = (Status.DRAFT, Status.CALLING, Status.FILLED, Status.IN_PROGRESS)

    code = models.CharField(max_length=5)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="orders")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="orders")
    franchise = models.ForeignKey(Franchise, on_delete=models.PROTECT, related_name="orders")
    lead = models.OneToOneField(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="order"
    )
    foreman = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="foreman_orders",
    )
    work_type = models.CharField(max_length=20, choices=WorkType.choices)
    headcount = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    start = models.DateTimeField()
    hours = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal(24))],
    )
    # start + hours, stored so "is this worker booked at an overlapping time" is one query.
    ends_at = models.DateTimeField(db_index=True)
    bill_rate = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    pay_rate = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    overbook_policy = models.CharField(
        max_length=10, choices=Policy.choices, default=Policy.FIXED
    )
    booking_target = models.PositiveIntegerField()
    # How many foremen the crew needs (the optimiser places them first when it can).
    foremen_needed = models.PositiveSmallIntegerField(default=0)
    waves_sent = models.PositiveSmallIntegerField(default=0)
    # The client's 1-5 score of the crew, asked by SMS after completion.
    client_score = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    calling_since = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["franchise", "status", "start"]),
            models.Index(fields=["status", "start"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status__in=["draft", "calling", "filled", "in_progress"]),
                name="order_code_unique_while_open",
            ),
            models.CheckConstraint(condition=Q(headcount__gte=1), name="order_headcount_positive"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="order_hours_positive"),
            models.CheckConstraint(
                condition=Q(booking_target__gte=models.F("headcount")),
                name="order_booking_target_covers_headcount",
            ),
            models.CheckConstraint(
                condition=Q(bill_rate__gte=0) & Q(pay_rate__gte=0), name="order_rates_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["draft", "calling", "filled", "in_progress", "completed",
                                "cancelled"]
                ),
                name="order_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.headcount} x {self.work_type}"

    @property
    def end(self):
        return self.start + timedelta(hours=float(self.hours))


class Offer(models.Model):
    """One worker's invitation to one order, their answer, and what became of them."""

    franchise_scope = "order__franchise"
    foreman_scope = "order__foreman"

    class Response(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    class State(models.TextChoices):
        OFFERED = "offered", _("Offered")
        CONFIRMED = "confirmed", _("Confirmed")
        STANDBY = "standby", _("Standby")
        RELEASED = "released", _("Released")
        CANCELLED = "cancelled", _("Cancelled")

    class Attendance(models.TextChoices):
        PRESENT = "present", _("Present")
        LATE = "late", _("Late")
        NO_SHOW = "no_show", _("No-show")
        # A no-show reversed on appeal: neither present nor held against the worker.
        EXCUSED = "excused", _("Excused")

    class Channel(models.TextChoices):
        """How the worker answered: by SMS, on the one-tap page, or on the call-back line."""

        SMS = "sms", _("SMS")
        LINK = "link", _("Link")
        VOICE = "voice", _("Call-back")

    # Attendance marks that take a confirmed worker off a running order's crew: the crew is
    # still short, and urgent offers may fill the place (dispatch/selectors.py, dispatch/sql.py).
    OFF_CREW_MARKS = (Attendance.NO_SHOW, Attendance.EXCUSED)

    # Which state may follow which (dispatch/states.py writes them). Released and cancelled
    # are final: a worker let go or withdrawn is offered again only by a new offer.
    TRANSITIONS: dict[str, frozenset[str]] = {
        State.OFFERED: frozenset({State.CONFIRMED, State.STANDBY, State.RELEASED,
                                  State.CANCELLED}),
        # A standby worker is called in (or came and worked), or withdraws.
        State.STANDBY: frozenset({State.CONFIRMED, State.CANCELLED}),
        State.CONFIRMED: frozenset({State.CANCELLED}),
        State.RELEASED: frozenset(),
        State.CANCELLED: frozenset(),
    }

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="offers")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="offers")
    wave = models.PositiveSmallIntegerField(default=1)
    sent_at = models.DateTimeField()
    # Null until the worker answers: "no answer yet" is not the same as an empty answer.
    response = models.CharField(  # noqa: DJ001
        max_length=10, choices=Response.choices, null=True, blank=True
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    # Blank until the worker answers: where carriers drop replies, the office needs to know
    # which channel its workers actually use.
    channel = models.CharField(max_length=5, choices=Channel.choices, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OFFERED)
    attendance = models.CharField(  # noqa: DJ001 - null until the foreman or worker checks in
        max_length=10, choices=Attendance.choices, null=True, blank=True
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    # To the quarter hour (7.25 is 7 h 15 min), as payroll counts them.
    hours_worked = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # A worker beyond the headcount the client asked to keep: billed and paid the hours. An
    # extra not kept goes home with the franchise's show-up fee (dispatch/surplus.py).
    kept = models.BooleanField(default=False)
    # When the foreman sent this extra worker home (and the SMS told them the fee).
    sent_home_at = models.DateTimeField(null=True, blank=True)
    # Great-circle km from the worker's home and the optimiser's cost when the offer was made.
    distance_km = models.FloatField(default=0)
    cost = models.FloatField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The worker's answer to the last reminder ("YES K7Q" again).
    reconfirmed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # The secret in the one-tap link an offer SMS carries.
    token = models.CharField(max_length=32, unique=True)

    class Meta:
        ordering = ["order_id", "wave", "id"]
        indexes = [
            models.Index(fields=["worker", "state"]),
            models.Index(fields=["order", "state"]),
            # Who is booked on an order: the candidate search reads it for every open order
            # overlapping a call-out's shift, from the index alone where PostgreSQL can.
            models.Index(
                fields=["order", "worker"],
                condition=Q(state__in=["confirmed", "standby"]),
                name="offer_booked_by_order",
            ),
        ]
        constraints = [
            # A duplicate reply can never become a second booking.
            models.UniqueConstraint(fields=["order", "worker"], name="offer_one_per_worker"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.worker_id}: {self.state}"


class ClientPreference(models.Model):
    """A client's favourite workers (offered first) and blocked ones (never sent)."""

    franchise_scope = "client__franchise"
    foreman_scope = None

    class Kind(models.TextChoices):
        FAVOURITE = "favourite", _("Favourite")
        BLOCKED = "blocked", _("Blocked")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="preferences")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "worker"], name="preference_one_per_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.kind} {self.worker_id}"


class Step(models.Model):
    """A timed step of dispatch, durable: the next wave, a batch assignment, a reminder, the
    no-show check. A periodic job runs the ones whose time has come; a row is claimed with a
    conditional update and a lease, so a step runs once however many sweepers look at it, and
    again after the lease if the sweeper that claimed it died.

    Celery countdowns are not used for this: eager tasks fire them at once, and Redis
    re-delivers tasks whose countdown outlives its visibility timeout.
    """

    class Kind(models.TextChoices):
        WAVE = "wave", _("Next call-out wave")
        ASSIGN = "assign", _("Batch assignment")
        REMINDER_EVENING = "reminder_evening", _("Evening-before reminder")
        REMINDER_FINAL = "reminder_final", _("Two-hours-before reminder")
        SILENCE_CHECK = "silence_check", _("Replace the silent from standby")
        NO_SHOW_CHECK = "no_show_check", _("No-show check")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="steps"
    )
    # Batch assignment runs per franchise, over all its open orders at once.
    franchise = models.ForeignKey(
        Franchise, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The claim holds until then; a sweeper that died mid-step leaves it for another after it.
    lease_until = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Closed unrun: found far past its moment (settings.STEP_STALE_AFTER).
    missed = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="step_pending_due",
                         condition=Q(done_at__isnull=True)),
        ]
        constraints = [
            # One pending batch assignment per franchise: more acceptances join the same batch.
            models.UniqueConstraint(
                fields=["franchise", "kind"],
                condition=Q(done_at__isnull=True, kind="assign"),
                name="step_one_pending_assign_per_franchise",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=False) | Q(franchise__isnull=False),
                name="step_has_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_at:%Y-%m-%d %H:%M}"


class Appeal(models.Model):
    """A worker's dispute of a no-show; a recruiter upholds the no-show or reverses it."""

    franchise_scope = "offer__order__franchise"
    foreman_scope = None

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        UPHELD = "upheld", _("No-show upheld")
        REVERSED = "reversed", _("No-show reversed")

    offer = models.OneToOneField(Offer, on_delete=models.CASCADE, related_name="appeal")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"appeal on offer {self.offer_id}: {self.status}"
