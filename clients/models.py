"""Clients, their sites, and the leads the call centre hands to the network."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from franchises.models import Franchise


class WorkType(models.TextChoices):
    """What an order asks for; the same words are worker skills."""

    LOADING = "loading", _("Loading")
    MOVING = "moving", _("Moving")
    SNOW_CLEARING = "snow_clearing", _("Snow clearing")
    ROOFING = "roofing", _("Roofing")
    CLEANING = "cleaning", _("Cleaning")
    GENERAL = "general", _("General labour")


class Conditions(models.TextChoices):
    WARM_INDOOR = "warm_indoor", _("Warm indoor")
    COLD_INDOOR = "cold_indoor", _("Cold indoor")
    OUTDOOR = "outdoor", _("Outdoor")
    HEAVY = "heavy", _("Heavy")


LAT_RANGE = Q(lat__gte=-90) & Q(lat__lte=90)
LNG_RANGE = Q(lng__gte=-180) & Q(lng__lte=180)


class Client(models.Model):
    franchise_scope = "franchise"
    foreman_scope = "orders__foreman"

    name = models.CharField(max_length=200)
    phone = PhoneNumberField(blank=True, db_index=True)
    email = models.EmailField(blank=True)
    # Null: HQ's own client, not yet handed to a franchise.
    franchise = models.ForeignKey(
        Franchise, null=True, blank=True, on_delete=models.PROTECT, related_name="clients"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    franchise_scope = "client__franchise"
    foreman_scope = "orders__foreman"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="sites")
    address = models.CharField(max_length=300)
    lat = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    lng = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    conditions = models.CharField(
        max_length=20, choices=Conditions.choices, default=Conditions.WARM_INDOOR
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=LAT_RANGE & LNG_RANGE, name="site_point_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.client.name}: {self.address}"


class Lead(models.Model):
    """A qualified request from the call centre, held by one franchise (or HQ) at a time."""

    franchise_scope = "franchise"
    foreman_scope = None

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OFFERED = "offered", _("Offered to a franchise")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected by every candidate")
        EXPIRED = "expired", _("Expired")

    contact_name = models.CharField(max_length=200)
    phone = PhoneNumberField()
    address = models.CharField(max_length=300)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    work_type = models.CharField(max_length=20, choices=WorkType.choices)
    # The same bound as an order's headcount: a lead for more could never be accepted.
    headcount = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    start = models.DateTimeField()
    hours = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal(24))],
    )
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    # Null: HQ holds it.
    franchise = models.ForeignKey(
        Franchise, null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    # When the holder must have answered before the lead moves on.
    respond_by = models.DateTimeField(null=True, blank=True)
    # Active, vetted workers with the skill within reach of the site when it was routed.
    workers_in_reach = models.PositiveIntegerField(null=True, blank=True)
    staffing_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "respond_by"])]
        constraints = [
            models.CheckConstraint(condition=Q(headcount__gte=1), name="lead_headcount_positive"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="lead_hours_positive"),
            models.CheckConstraint(
                condition=(Q(lat__isnull=True) & Q(lng__isnull=True))
                | (Q(lat__isnull=False) & Q(lng__isnull=False) & LAT_RANGE & LNG_RANGE),
                name="lead_point_complete_and_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Lead {self.pk}: {self.contact_name}, {self.headcount} x {self.work_type}"


class LeadHop(models.Model):
    """One step of a lead's journey: who was offered it, and how that ended."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        TIMED_OUT = "timed_out", _("Not answered in time")
        HANDED_ON = "handed_on", _("Handed on by HQ")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="hops")
    franchise = models.ForeignKey(
        Franchise, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    offered_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["offered_at", "id"]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} -> {self.franchise or 'HQ'}: {self.outcome}"


class GeocodeCache(models.Model):
    """Answers from the geocoding service, so an address is looked up once."""

    query = models.CharField(max_length=300, unique=True)
    source = models.CharField(max_length=20)
    found = models.BooleanField(default=True)
    lat = models.FloatField(null=True)
    lng = models.FloatField(null=True)
    display_name = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.query
