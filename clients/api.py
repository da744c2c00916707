"""API for clients, sites and leads: thin, every write goes through a service."""

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from phonenumber_field.phonenumber import to_python
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, viewsets

from core.api import START_HELP, WallClockDateTimeField
from core.filters import ScopedFilterSet
from franchises.api import (
    OwnFranchiseField,
    ScopedRelatedField,
    ScopedViewSetMixin,
)
from franchises.models import Franchise

from . import services
from .models import Client, Lead, Site


def _point_or_omitted(attrs: dict[str, Any]) -> dict[str, Any]:
    """`lat` and `lng` given as null read as if left out, so the service geocodes the address
    (or, on an update, keeps the point unless the address changes). A null beside a number is
    half a point, a field error, as leaving one of them out is."""
    for name, other in (("lat", "lng"), ("lng", "lat")):
        if name in attrs and attrs[name] is None and attrs.get(other) is not None:
            raise serializers.ValidationError({name: [_("Give both lat and lng, or neither.")]})
    return {name: value for name, value in attrs.items()
            if not (name in ("lat", "lng") and value is None)}


class ClientSerializer(serializers.ModelSerializer):
    phone = PhoneNumberField(required=False, allow_blank=True)
    # Another franchise's id is a 400 on `franchise` (like an id that does not exist), not
    # a client quietly filed under the caller's own franchise.
    franchise = OwnFranchiseField(
        queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ), required=False, allow_null=True
    )

    class Meta:
        model = Client
        fields = ["id", "name", "phone", "email", "franchise", "notes", "created_at"]
        read_only_fields = ["created_at"]

    def validate_franchise(self, franchise: Franchise | None) -> Franchise | None:
        if franchise is None and not self.context["request"].user.is_hq:
            raise serializers.ValidationError(_("Only HQ holds clients without a franchise."))
        return franchise

    def create(self, validated_data: dict[str, Any]) -> Client:
        user = self.context["request"].user
        if "franchise" not in validated_data:
            # HQ's clients without a franchise are its own; everybody else works for theirs.
            validated_data["franchise"] = None if user.is_hq else user.franchise
        return services.client_create(**validated_data)

    def update(self, instance: Client, validated_data: dict[str, Any]) -> Client:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.full_clean()
        instance.save()
        return instance


class ClientFilter(ScopedFilterSet):
    phone = filters.CharFilter(method="filter_phone")
    search = filters.CharFilter(method="filter_search")

    class Meta:
        model = Client
        fields = ["franchise", "phone", "search"]

    def filter_phone(self, queryset: Any, name: str, value: str) -> Any:
        number = _e164(value)
        return queryset.filter(phone=number or value)

    def filter_search(self, queryset: Any, name: str, value: str) -> Any:
        digits = "".join(ch for ch in value if ch.isdigit())
        condition = Q(name__icontains=value) | Q(email__icontains=value)
        if len(digits) >= 4:
            condition |= Q(phone__contains=digits)
        # An operator types the number as the caller says it ("8 812 ..."), not as stored.
        number = _e164(value)
        if number:
            condition |= Q(phone=number)
        return queryset.filter(condition)


def _e164(value: str) -> str | None:
    """The E.164 form of a valid phone number in any format, else None."""

    number = to_python(value)
    if number is None or not number.is_valid():
        return None
    return number.as_e164


class ClientViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = Client.objects.all()
    serializer_class = ClientSerializer
    filterset_class = ClientFilter
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class SiteSerializer(serializers.ModelSerializer):
    client = ScopedRelatedField(queryset=Client.objects.all())
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)

    class Meta:
        model = Site
        fields = ["id", "client", "address", "lat", "lng", "conditions", "notes"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _point_or_omitted(attrs)

    def create(self, validated_data: dict[str, Any]) -> Site:
        return services.site_create(**validated_data)

    def update(self, instance: Site, validated_data: dict[str, Any]) -> Site:
        return services.site_update(site=instance, **validated_data)


class SiteFilter(ScopedFilterSet):
    class Meta:
        model = Site
        fields = ["client", "conditions"]


class SiteViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = Site.objects.select_related("client")
    serializer_class = SiteSerializer
    filterset_class = SiteFilter
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class LeadSerializer(serializers.ModelSerializer):
    phone = PhoneNumberField()
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    start = WallClockDateTimeField(
        help_text=START_HELP.replace(
            "the franchise that serves it", "the franchise the lead goes to (HQ's if none)"
        )
    )
    order = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id", "contact_name", "phone", "address", "lat", "lng", "work_type", "headcount",
            "start", "hours", "notes", "status", "franchise", "routed_at", "respond_by", "order",
            "workers_in_reach", "staffing_note", "created_at",
        ]
        read_only_fields = ["status", "franchise", "routed_at", "respond_by", "created_at",
                            "workers_in_reach", "staffing_note"]

    def get_order(self, lead: Lead) -> int | None:
        order = getattr(lead, "order", None)
        return order.pk if order is not None else None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _point_or_omitted(attrs)

    def create(self, validated_data: dict[str, Any]) -> Lead:
        user = self.context["request"].user
        return services.lead_create(**validated_data, created_by=user)


class LeadFilter(ScopedFilterSet):
    class Meta:
        model = Lead
        fields = ["status", "franchise", "work_type"]


class LeadViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = Lead.objects.select_related("order")
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    http_method_names = ["get", "post", "head", "options"]
