"""Sites and leads keep their invariants in the database, whatever wrote the row."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from clients.models import Client, GeocodeCache, Lead, Site
from core import clock


def _refused(write: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def _lead(**fields: Any) -> Lead:
    values = {
        "contact_name": "Anna", "phone": "+79215551122", "address": "Saint Petersburg",
        "lat": 59.9, "lng": 30.3, "work_type": "loading", "headcount": 5,
        "start": clock.now() + timedelta(days=1), "hours": Decimal(6), **fields,
    }
    return Lead.objects.create(**values)


@pytest.mark.django_db
class TestSite:
    @pytest.mark.parametrize(("lat", "lng"), [(91, 30), (-90.5, 30), (59.9, 181), (59.9, -181)])
    def test_point_out_of_range_is_refused(
        self, spb_client: Client, lat: float, lng: float
    ) -> None:
        _refused(lambda: Site.objects.create(client=spb_client, address="X", lat=lat, lng=lng))

    def test_a_client_with_sites_cannot_be_deleted(self, spb_site: Site) -> None:
        with pytest.raises(ProtectedError), transaction.atomic():
            spb_site.client.delete()


@pytest.mark.django_db
class TestLead:
    def test_headcount_must_be_positive(self, db: Any) -> None:
        _refused(lambda: _lead(headcount=0))

    @pytest.mark.parametrize("hours", [Decimal(0), Decimal("-1")])
    def test_hours_must_be_positive(self, db: Any, hours: Decimal) -> None:
        _refused(lambda: _lead(hours=hours))

    @pytest.mark.parametrize(("lat", "lng"), [(59.9, None), (None, 30.3), (95, 30.3)])
    def test_point_complete_and_in_range(self, db: Any, lat: Any, lng: Any) -> None:
        _refused(lambda: _lead(lat=lat, lng=lng))

    def test_a_lead_without_a_point_is_allowed(self, db: Any) -> None:
        assert _lead(lat=None, lng=None).pk is not None


@pytest.mark.django_db
def test_an_address_is_cached_once(db: Any) -> None:
    GeocodeCache.objects.create(query="kupchino", source="offline", lat=59.83, lng=30.38)
    _refused(lambda: GeocodeCache.objects.create(query="kupchino", source="nominatim"))
