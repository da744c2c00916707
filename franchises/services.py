"""Writes on the network: franchises and logins."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber, to_python

from core.geo import TerritoryError, parse_territory, territories_overlap

from .models import Franchise, User


def _territory_geometry(territory: Any) -> Any:
    """Only the geometry of a GeoJSON object is kept.

    Foreign members ("properties", "crs", "bbox"...) mean nothing to routing, and any text in
    them (a NUL character, say) would have to survive PostgreSQL's jsonb.
    """
    if isinstance(territory, dict):
        return {key: territory[key] for key in ("type", "coordinates") if key in territory}
    return territory


def _validate_territory(*, franchise: Franchise) -> None:
    if franchise.territory is None:
        return
    try:
        parse_territory(franchise.territory)
    except TerritoryError as exc:
        raise ValidationError({"territory": [str(exc)]}) from exc
    if franchise.kind != Franchise.Kind.OFFICIAL_OFFICE:
        return
    # An official office holds its city exclusively: no two offices' territories may overlap.
    rivals = Franchise.objects.filter(
        kind=Franchise.Kind.OFFICIAL_OFFICE, territory__isnull=False
    ).exclude(pk=franchise.pk)
    for rival in rivals.only("id", "name", "territory"):
        if rival.territory is not None and territories_overlap(
            franchise.territory, rival.territory
        ):
            raise ValidationError(
                {"territory": [_("Overlaps the territory of official office '%(name)s'.")
                               % {"name": rival.name}]}
            )


@transaction.atomic
def franchise_save(*, franchise: Franchise) -> Franchise:
    """Validate and store a new or changed franchise (territory shape and exclusivity).

    HQ is one row for good: no franchise becomes HQ, and HQ becomes nothing else (statements,
    routing and the benchmark all leave HQ out)."""
    hq = Franchise.Kind.HQ
    was = (Franchise.objects.filter(pk=franchise.pk).values_list("kind", flat=True).first()
           if franchise.pk else None)
    if was is not None:
        moved = (franchise.kind == hq) != (was == hq)
    else:
        moved = franchise.kind == hq and Franchise.objects.filter(kind=hq).exists()
    if moved:
        raise ValidationError({"kind": [_("Headquarters stays headquarters, and no franchise "
                                          "becomes it.")]})
    franchise.manager_phone = _manager_phone(franchise.manager_phone)
    franchise.territory = _territory_geometry(franchise.territory)
    franchise.full_clean()
    _validate_territory(franchise=franchise)
    franchise.save()
    return franchise


def _manager_phone(raw: str) -> str:
    """The manager's number in E.164 (new leads are texted to it), or "" for none."""

    if not (raw or "").strip():
        return ""
    number = to_python(raw.strip(), region=settings.DEFAULT_PHONE_REGION)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        raise ValidationError(
            {"manager_phone": [_("Enter a valid phone number, e.g. +79211234567.")]}
        )
    return number.as_e164


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    franchise: Franchise | None = None,
    **extra: Any,
) -> User:
    """Create a login; franchise and foreman logins must belong to a franchise."""
    if role not in User.Role.values:
        raise ValidationError({"role": [_("Choose one of %(choices)s.")
                                        % {"choices": User.Role.values}]})
    if role != User.Role.HQ and franchise is None:
        raise ValidationError(
            {"franchise": [_("A franchise or foreman login needs a franchise.")]}
        )
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": [_("The username '%(username)s' is taken.")
                                            % {"username": username}]})
    user = User(username=username, role=role, franchise=franchise, **extra)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user
