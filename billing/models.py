"""Rate cards, what clients are invoiced, what workers are paid, and what franchises owe HQ."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import Client, WorkType
from dispatch.models import Order
from franchises.models import Franchise
from workers.models import Worker

# Night and weekend multiply the rates: a factor of zero or below prices the shift at nothing
# or less (a negative quote), and above this one is a typo, not a surcharge.
MAX_RATE_FACTOR = Decimal(5)
# Quotes and orders cap a shift at 24 hours, so a longer minimum could never be worked.
MAX_MIN_HOURS = Decimal(24)


class RateCard(models.Model):
    """A franchise's base prices per work type, per worker-hour."""

    franchise_scope = "franchise"
    foreman_scope = None

    franchise = models.ForeignKey(Franchise, on_delete=models.CASCADE, related_name="rate_cards")
    work_type = models.CharField(max_length=20, choices=WorkType.choices)
    bill_rate = models.DecimalField(max_digits=10, decimal_places=2,
                                    validators=[MinValueValidator(0)])
    pay_rate = models.DecimalField(max_digits=10, decimal_places=2,
                                   validators=[MinValueValidator(0)])
    min_hours = models.DecimalField(
        max_digits=4, decimal_places=1, default=Decimal(4),
        validators=[MinValueValidator(0), MaxValueValidator(MAX_MIN_HOURS)],
    )
    night_factor = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1.20"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_RATE_FACTOR)],
    )
    weekend_factor = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1.10"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_RATE_FACTOR)],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["franchise", "work_type"], name="rate_card_unique"),
            models.CheckConstraint(condition=Q(bill_rate__gte=0) & Q(pay_rate__gte=0),
                                   name="rate_card_rates_positive"),
            models.CheckConstraint(
                condition=Q(night_factor__gt=0, night_factor__lte=MAX_RATE_FACTOR,
                            weekend_factor__gt=0, weekend_factor__lte=MAX_RATE_FACTOR),
                name="rate_card_factors_in_range",
            ),
            models.CheckConstraint(
                condition=Q(min_hours__gte=0, min_hours__lte=MAX_MIN_HOURS),
                name="rate_card_min_hours_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.franchise}: {self.work_type} {self.bill_rate}/{self.pay_rate}"


class InvoiceLine(models.Model):
    """One worker's confirmed hours on one order, billed to the client: one of the crew the
    client ordered (at most the headcount, the longest hours first), or an extra the client
    asked to keep (dispatch/surplus.py)."""

    franchise_scope = "franchise"
    foreman_scope = None

    class Basis(models.TextChoices):
        HEADCOUNT = "headcount", _("One of the workers ordered")
        KEPT = "kept", _("Kept beyond the headcount at the client's request")

    franchise = models.ForeignKey(Franchise, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoice_lines")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoice_lines")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="+")
    # The month of the order's start in the franchise's time zone, "YYYY-MM".
    period = models.CharField(max_length=7, db_index=True)
    hours = models.DecimalField(max_digits=6, decimal_places=2)  # to the quarter hour
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.HEADCOUNT)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["order_id", "worker_id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "worker"], name="invoice_line_once"),
            models.CheckConstraint(condition=Q(basis__in=["headcount", "kept"]),
                                   name="invoice_line_basis_valid"),
        ]
        indexes = [models.Index(fields=["franchise", "period"])]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.worker_id}: {self.amount} {self.currency}"

    @property
    def note(self) -> str:
        """The billing rule behind the line, in words the client reads on the invoice."""
        ordered = self.order.headcount
        if self.basis == self.Basis.KEPT:
            return f"Beyond the {ordered} ordered, kept at the client's request"
        return (f"Within the {ordered} ordered: an order bills at most its headcount, the "
                f"longest hours first")


class PayLine(models.Model):
    """What a worker earned on an order, of one kind: confirmed hours x pay rate; or, for a
    worker who came beyond the headcount and was sent home, the franchise's show-up fee; or,
    for a standby worker who stayed ready and was never called, its standby fee. A fee line
    has no hours: its rate is the fee and its amount one fee."""

    franchise_scope = "franchise"
    foreman_scope = None

    class Kind(models.TextChoices):
        HOURS = "hours", _("Hours worked")
        SHOW_UP_FEE = "show_up_fee", _("Show-up fee (sent home beyond the headcount)")
        STANDBY_FEE = "standby_fee", _("Standby fee (ready, never called)")

    franchise = models.ForeignKey(Franchise, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="pay_lines")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="pay_lines")
    period = models.CharField(max_length=7, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.HOURS)
    hours = models.DecimalField(max_digits=6, decimal_places=2)  # to the quarter hour
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["order_id", "worker_id"]
        constraints = [
            # One line per worker and order: a worker either worked, or was sent home, or
            # stood by, never two of them on one order.
            models.UniqueConstraint(fields=["order", "worker"], name="pay_line_once"),
            models.CheckConstraint(
                condition=Q(kind="hours") | Q(kind__in=["show_up_fee", "standby_fee"], hours=0),
                name="pay_line_kind_valid",
            ),
        ]
        indexes = [models.Index(fields=["franchise", "period"])]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.worker_id}: {self.amount} {self.currency}"


class Credit(models.Model):
    """A credit given to a client (a refund, a goodwill discount): it lowers turnover."""

    franchise_scope = "franchise"
    foreman_scope = None

    franchise = models.ForeignKey(Franchise, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="credits")
    period = models.CharField(max_length=7, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0.01"))])
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_positive"),
        ]

    def __str__(self) -> str:
        return f"credit {self.amount} to {self.client_id} ({self.period})"


class RoyaltyStatement(models.Model):
    """What a franchise owes HQ for a month: turnover x rate + the monthly fee."""

    franchise_scope = "franchise"
    foreman_scope = None

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")

    franchise = models.ForeignKey(Franchise, on_delete=models.PROTECT, related_name="statements")
    period = models.CharField(max_length=7)
    invoiced = models.DecimalField(max_digits=14, decimal_places=2)
    credits = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    # Earlier months' turnover that changed after their statements were issued (an order
    # completed after the month turned, an attendance correction, a later credit): carried
    # here. turnover = invoiced - credits + adjustment.
    adjustment = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    turnover = models.DecimalField(max_digits=14, decimal_places=2)
    royalty_rate = models.DecimalField(max_digits=5, decimal_places=4)
    royalty = models.DecimalField(max_digits=14, decimal_places=2)
    monthly_fee = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    paid = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField()
    due_on = models.DateField()
    # This month's own turnover as last accounted for: at issue, then each time a later
    # statement carries a change of it as its adjustment.
    settled_turnover = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))

    class Meta:
        ordering = ["-period", "franchise_id"]
        constraints = [
            models.UniqueConstraint(fields=["franchise", "period"], name="statement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.franchise} {self.period}: {self.total} {self.currency}"


class RoyaltyPayment(models.Model):
    franchise_scope = "statement__franchise"
    foreman_scope = None

    statement = models.ForeignKey(RoyaltyStatement, on_delete=models.PROTECT,
                                  related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0.01"))])
    paid_on = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_on}"
