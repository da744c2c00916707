"""The shared worker pool: 100,000 people with basic phones, used by every franchise."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from clients.models import WorkType

from .fields import TagSetField


class Skill(models.TextChoices):
    """The order vocabulary plus two roles that are skills but not work types."""

    LOADING = WorkType.LOADING
    MOVING = WorkType.MOVING
    SNOW_CLEARING = WorkType.SNOW_CLEARING
    ROOFING = WorkType.ROOFING
    CLEANING = WorkType.CLEANING
    GENERAL = WorkType.GENERAL
    FOREMAN = "foreman", _("Foreman")
    DRIVER = "driver", _("Driver")


SKILLS = tuple(Skill.values)

# A `general` worker may be sent to these work types as well as to `general` orders.
GENERAL_COVERS = frozenset({WorkType.LOADING, WorkType.MOVING, WorkType.GENERAL})


def skills_for_work_type(work_type: str) -> tuple[str, ...]:
    """The skills any one of which qualifies a worker for `work_type`."""
    if work_type in GENERAL_COVERS and work_type != WorkType.GENERAL:
        return (work_type, Skill.GENERAL)
    return (work_type,)


class Worker(models.Model):
    # Shared by the whole network: no franchise narrows it.
    franchise_scope = None

    class Status(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        BLOCKED = "blocked", _("Blocked")

    class SuspensionCause(models.TextChoices):
        """Why a suspended worker is suspended. Blank: a person's decision (or not suspended),
        which only a person undoes."""

        NO_SHOW_RULE = "no_show_rule", "The no-show rule"

    class Language(models.TextChoices):
        RU = "ru", "Русский"
        EN = "en", "English"

    name = models.CharField(max_length=200)
    phone = PhoneNumberField(unique=True)
    lat = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lng = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    home_area = models.CharField(max_length=200, blank=True)
    skills = TagSetField(choices_list=SKILLS)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.APPLICANT)
    # Set by the ratings app when its rule suspends; cleared by any other change of status, so
    # the rule lifts only a suspension that is still its own.
    suspension_cause = models.CharField(
        max_length=20, choices=SuspensionCause.choices, blank=True, default=""
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.RU)
    photo = models.FileField(upload_to="workers/photos/", blank=True)
    notes = models.TextField(blank=True)

    # Derived from rating events by the ratings app; never written by hand.
    rating = models.FloatField(default=4.0)
    reliability = models.FloatField(default=0.8)
    shifts_completed = models.PositiveIntegerField(default=0)
    no_shows = models.PositiveIntegerField(default=0)
    rating_state = models.JSONField(null=True, blank=True)
    # Offer history, kept as counters: the call-out sizes its waves from each worker's reply
    # and accept rates, and reading them must not cost a count over millions of offers.
    offers_received = models.PositiveIntegerField(default=0)
    offers_answered = models.PositiveIntegerField(default=0)
    offers_accepted = models.PositiveIntegerField(default=0)
    last_offer_at = models.DateTimeField(null=True, blank=True)

    # The office that brought the person in (added them, or first interviewed an applicant who
    # joined by SMS); null while nobody has. It keeps the profile (workers.access).
    recruited_by = models.ForeignKey(
        "franchises.Franchise", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="recruits",
    )
    vetted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["rating_state"])

    class Meta:
        ordering = ["id"]
        indexes = [
            # Candidate search: active workers inside a latitude band, then longitude. On
            # PostgreSQL the search uses a GiST index on the point instead (migration 0002).
            models.Index(fields=["status", "lat", "lng"], name="worker_status_point"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=0) & Q(rating__lte=5), name="worker_rating_0_5"
            ),
            models.CheckConstraint(
                condition=Q(reliability__gte=0) & Q(reliability__lte=1),
                name="worker_reliability_0_1",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["applicant", "active", "suspended", "blocked"]),
                name="worker_status_valid",
            ),
            models.CheckConstraint(
                condition=(Q(lat__isnull=True) & Q(lng__isnull=True))
                | (
                    Q(lat__isnull=False, lng__isnull=False)
                    & Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180)
                ),
                name="worker_point_complete_and_in_range",
            ),
            # Only a vetted person may be sent to a client.
            models.CheckConstraint(
                condition=~Q(status="active") | Q(vetted_at__isnull=False),
                name="worker_active_is_vetted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"


class Interview(models.Model):
    """A recruiter's vetting of a worker: the only way from applicant to active."""

    class Outcome(models.TextChoices):
        PASSED = "passed", _("Passed")
        FAILED = "failed", pgettext_lazy("interview", "Failed")

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="interviews")
    recruiter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    # True when an HQ user imported an already vetted worker instead of interviewing them.
    imported = models.BooleanField(default=False)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.worker_id}: {self.outcome} at {self.at:%Y-%m-%d}"
