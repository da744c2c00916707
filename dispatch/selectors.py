"""Reads on orders and offers."""

from django.db.models import Count, Q, QuerySet

from .models import Offer, Order

_COUNTS = {
    "invited": Count("offers", distinct=True),
    "accepted": Count("offers", filter=Q(offers__response=Offer.Response.ACCEPTED), distinct=True),
    "confirmed": Count("offers", filter=Q(offers__state=Offer.State.CONFIRMED), distinct=True),
    "standby": Count("offers", filter=Q(offers__state=Offer.State.STANDBY), distinct=True),
    "present": Count(
        "offers",
        filter=Q(offers__attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE]),
        distinct=True,
    ),
    "no_show": Count(
        "offers", filter=Q(offers__attendance=Offer.Attendance.NO_SHOW), distinct=True
    ),
}
COUNT_NAMES = tuple(_COUNTS)


def orders_with_counts(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Orders annotated with their offer funnel, one query however many orders."""
    return queryset.annotate(**{f"count_{name}": agg for name, agg in _COUNTS.items()})
