"""The network: franchises, their territories, and the people who log in.

Every login has a role. HQ sees the whole network; a franchise user sees their franchise;
a foreman sees the orders they run. The worker pool is shared by everybody.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import clock

REPLY_CHANNELS = ("sms", "link", "voice")


def default_reply_channels() -> list[str]:
    return ["sms"]


def validate_timezone(value: str) -> None:
    if value not in _TIMEZONES:
        raise ValidationError(
            gettext("'%(value)s' is not an IANA time zone such as Europe/Moscow.")
            % {"value": value}
        )


def validate_reply_channels(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(gettext("Give a non-empty list of channels."))
    unknown = [channel for channel in value if channel not in REPLY_CHANNELS]
    if unknown:
        raise ValidationError(
            gettext("Unknown channel(s) %(unknown)s; choose from %(choices)s.")
            % {"unknown": unknown, "choices": list(REPLY_CHANNELS)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(gettext("A channel is listed twice."))


_TIMEZONES = frozenset(available_timezones())


class Franchise(models.Model):
    class Kind(models.TextChoices):
        HQ = "hq", _("Headquarters")
        OFFICIAL_OFFICE = "official_office", _("Official office")
        BRAND_FRANCHISE = "brand_franchise", _("Brand franchise")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    city = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(
        max_length=64, default="Europe/Moscow", validators=[validate_timezone]
    )
    currency = models.CharField(max_length=3, default="RUB")
    royalty_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.15"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    monthly_fee = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal(0), validators=[MinValueValidator(0)]
    )
    # GeoJSON Polygon or MultiPolygon, [lng, lat] order. Validated by core.geo.territories.
    territory = models.JSONField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    reply_channels = models.JSONField(
        default=default_reply_channels, validators=[validate_reply_channels]
    )
    # The house rule "invite 15 for 10" is this ratio.
    booking_ratio = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.50"),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(5))],
    )
    # Paid to a standby worker who stayed ready for an order and was never called in.
    standby_fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("300.00"),
        validators=[MinValueValidator(0)],
    )
    # Paid to a worker who came beyond the headcount and was sent home (not kept at the
    # client's request): the client pays for the crew it asked for, so over-booking's
    # surplus is the franchise's cost.
    show_up_fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("500.00"),
        validators=[MinValueValidator(0)],
    )
    manager_phone = models.CharField(max_length=20, blank=True)
    # A franchise may pause incoming leads (holidays, a full week) until a moment.
    leads_paused_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind="hq"), name="franchise_single_hq"
            ),
            models.CheckConstraint(
                condition=Q(royalty_rate__gte=0) & Q(royalty_rate__lte=1),
                name="franchise_royalty_rate_0_1",
            ),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="franchise_fee_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["hq", "official_office", "brand_franchise"]),
                name="franchise_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(booking_ratio__gte=1), name="franchise_booking_ratio_at_least_1"
            ),
            models.CheckConstraint(
                condition=Q(standby_fee__gte=0) & Q(show_up_fee__gte=0),
                name="franchise_worker_fees_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def local_moment(self, moment: datetime) -> datetime:
        """A start as the client gave it: a naive time is this franchise's local time."""
        return clock.in_zone(moment, self.timezone)

    @classmethod
    def hq_timezone(cls) -> str:
        """HQ's zone: the time of whatever belongs to no franchise yet (a lead HQ holds)."""
        zone = cls.objects.filter(kind=cls.Kind.HQ).values_list("timezone", flat=True).first()
        return zone or "Europe/Moscow"


class UserManager(DjangoUserManager["User"]):
    def create_superuser(self, username: str, email: str | None = None,
                         password: str | None = None, **extra_fields: Any) -> "User":
        """A superuser has HQ scope (`manage.py createsuperuser`)."""
        extra_fields.setdefault("role", User.Role.HQ)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    # A franchise user may point only at logins of its own franchise (e.g. an order's foreman).
    franchise_scope = "franchise"
    foreman_scope = None

    objects: ClassVar[UserManager] = UserManager()

    class Role(models.TextChoices):
        HQ = "hq", _("Headquarters")
        FRANCHISE = "franchise", _("Franchise staff")
        FOREMAN = "foreman", _("Foreman")
        # Interviews applicants for the shared pool; sees workers, not clients or orders.
        RECRUITER = "recruiter", _("Recruiter")

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRANCHISE)
    franchise = models.ForeignKey(
        Franchise, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    phone = models.CharField(max_length=20, blank=True)
    # The pages' language; blank follows the browser's.
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role="hq") | Q(franchise__isnull=False),
                name="user_non_hq_has_franchise",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["hq", "franchise", "foreman", "recruiter"]),
                name="user_role_valid",
            ),
        ]

    @property
    def is_hq(self) -> bool:
        """HQ scope: HQ staff and Django superusers see the whole network."""
        return self.is_superuser or self.role == self.Role.HQ



class IdempotentRequest(models.Model):
    """A write made once under a caller's `Idempotency-Key` (or a console form's key), and the
    answer it gave: a retry with the same key gets that answer again and changes nothing.

    Keys are the caller's own (`user`) and the endpoint's (`scope`); a key is kept for
    `IDEMPOTENCY_KEY_HOURS`, after which it may be used afresh (franchises.idempotency).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    # What was asked (a hash of the endpoint and the body): the same key with another body is
    # a mistake, refused rather than answered with the first body's result.
    fingerprint = models.CharField(max_length=64)
    # Written in the same transaction as the work itself, so another request never sees a key
    # whose work is not done: it waits on the key's row until that transaction ends.
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"],
                                    name="idempotent_request_once_per_user_scope_key"),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="idempotent_user_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
