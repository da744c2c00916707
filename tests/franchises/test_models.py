"""The network's invariants hold in the database itself, not only in Python validation.

Each write here bypasses `full_clean` (a plain `save()` or a queryset `update()`), the way a
bulk import, a data migration or a bug elsewhere would; the database must refuse it.
"""

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from franchises.models import Franchise, User


def _refused(write: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.mark.django_db
class TestFranchiseConstraints:
    def test_a_second_hq_is_refused(self, hq_franchise: Any) -> None:
        _refused(lambda: Franchise.objects.create(name="HQ two", kind=Franchise.Kind.HQ))
        assert Franchise.objects.filter(kind=Franchise.Kind.HQ).count() == 1

    def test_many_offices_and_brand_franchises_are_allowed(self, hq_franchise: Any) -> None:
        Franchise.objects.create(name="A", kind=Franchise.Kind.OFFICIAL_OFFICE)
        Franchise.objects.create(name="B", kind=Franchise.Kind.OFFICIAL_OFFICE)
        Franchise.objects.create(name="C", kind=Franchise.Kind.BRAND_FRANCHISE)
        Franchise.objects.create(name="D", kind=Franchise.Kind.BRAND_FRANCHISE)
        assert Franchise.objects.count() == 5

    @pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal("1.0001"), Decimal("2")])
    def test_royalty_rate_outside_0_1_is_refused(self, rate: Decimal) -> None:
        _refused(
            lambda: Franchise.objects.create(
                name="X", kind=Franchise.Kind.BRAND_FRANCHISE, royalty_rate=rate
            )
        )

    @pytest.mark.parametrize("rate", [Decimal(0), Decimal("0.15"), Decimal(1)])
    def test_royalty_rate_bounds_are_allowed(self, rate: Decimal) -> None:
        franchise = Franchise.objects.create(
            name="X", kind=Franchise.Kind.BRAND_FRANCHISE, royalty_rate=rate
        )
        franchise.refresh_from_db()
        assert franchise.royalty_rate == rate

    def test_an_existing_row_cannot_be_updated_out_of_range(self, spb: Any) -> None:
        _refused(
            lambda: Franchise.objects.filter(pk=spb.pk).update(royalty_rate=Decimal("1.5"))
        )
        spb.refresh_from_db()
        assert spb.royalty_rate == Decimal("0.15")

    def test_negative_monthly_fee_is_refused(self) -> None:
        _refused(
            lambda: Franchise.objects.create(
                name="X", kind=Franchise.Kind.BRAND_FRANCHISE, monthly_fee=Decimal("-1")
            )
        )

    def test_unknown_kind_is_refused(self) -> None:
        _refused(lambda: Franchise.objects.create(name="X", kind="pirate"))

    def test_booking_ratio_below_one_is_refused(self) -> None:
        _refused(
            lambda: Franchise.objects.create(
                name="X", kind=Franchise.Kind.BRAND_FRANCHISE, booking_ratio=Decimal("0.9")
            )
        )

    @pytest.mark.parametrize("fee", ["standby_fee", "show_up_fee"])
    def test_a_negative_worker_fee_is_refused(self, fee: str) -> None:
        _refused(
            lambda: Franchise.objects.create(
                name="X", kind=Franchise.Kind.BRAND_FRANCHISE, **{fee: Decimal("-1")}
            )
        )

    def test_defaults_are_the_house_rules(self) -> None:
        franchise = Franchise.objects.create(name="X", kind=Franchise.Kind.BRAND_FRANCHISE)
        franchise.refresh_from_db()
        assert franchise.royalty_rate == Decimal("0.15")
        assert franchise.booking_ratio == Decimal("1.5")
        assert franchise.reply_channels == ["sms"]
        assert franchise.timezone == "Europe/Moscow"
        assert franchise.is_active is True


@pytest.mark.django_db
class TestUserConstraints:
    @pytest.mark.parametrize("role", [User.Role.FRANCHISE, User.Role.FOREMAN])
    def test_non_hq_user_without_franchise_is_refused(self, role: str) -> None:
        _refused(lambda: User.objects.create(username="lost", role=role, franchise=None))
        assert not User.objects.filter(username="lost").exists()

    def test_moving_a_franchise_user_out_of_any_franchise_is_refused(self, spb_user: Any) -> None:
        _refused(lambda: User.objects.filter(pk=spb_user.pk).update(franchise=None))

    def test_hq_user_needs_no_franchise(self) -> None:
        user = User.objects.create(username="boss", role=User.Role.HQ)
        assert user.franchise is None
        assert user.is_hq

    def test_unknown_role_is_refused(self, spb: Any) -> None:
        _refused(lambda: User.objects.create(username="odd", role="janitor", franchise=spb))

    def test_a_franchise_with_users_cannot_be_deleted(self, spb_user: Any, spb: Any) -> None:
        with pytest.raises(ProtectedError), transaction.atomic():
            spb.delete()
        assert Franchise.objects.filter(pk=spb.pk).exists()

    def test_superuser_has_hq_scope(self, spb: Any) -> None:
        user = User.objects.create(
            username="root", role=User.Role.FRANCHISE, franchise=spb, is_superuser=True
        )
        assert user.is_hq
