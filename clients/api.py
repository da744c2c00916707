"""API for clients, sites and leads: thin, every write goes through a service."""

from typing import Any

from django.db.models import Q
from django_filters import rest_framework as filters
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, viewsets

from franchises.api import ScopedRelatedField, ScopedViewSetMixin
from franchises.models import Franchise

from . import services
from .models import Client, Lead, Site


def _caller_franchise(serializer: serializers.Serializer, given: Franchise | None) -> Any:
    """HQ may name any franchise (or none); everybody else works for their own."""
    user = serializer.context["request"].user
    if user.is_hq:
        return given
    return user.franchise


class ClientSerializer(serializers.ModelSerializer):
    phone = PhoneNumberField(required=False, allow_blank=True)
    franchise = ScopedRelatedField(
        queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ), required=False, allow_null=True
    )

    class Meta:
        model = Client
        fields = ["id", "name", "phone", "email", "franchise", "notes", "created_at"]
        read_only_fields = ["created_at"]

    def create(self, validated_data: dict[str, Any]) -> Client:
        validated_data["franchise"] = _caller_franchise(self, validated_data.get("franchise"))
        return services.client_create(**validated_data)

    def update(self, instance: Client, validated_data: dict[str, Any]) -> Client:
        if "franchise" in validated_data:
            validated_data["franchise"] = _caller_franchise(self, validated_data["franchise"])
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.full_clean()
        instance.save()
        return instance


class ClientFilter(filters.FilterSet):
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
    from phonenumber_field.phonenumber import to_python

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
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)

    class Meta:
        model = Site
        fields = ["id", "client", "address", "lat", "lng", "conditions", "notes"]

    def create(self, validated_data: dict[str, Any]) -> Site:
        return services.site_create(**validated_data)

    def update(self, instance: Site, validated_data: dict[str, Any]) -> Site:
        return services.site_update(site=instance, **validated_data)


class SiteFilter(filters.FilterSet):
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
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)
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

    def create(self, validated_data: dict[str, Any]) -> Lead:
        user = self.context["request"].user
        return services.lead_create(**validated_data, created_by=user)


class LeadFilter(filters.FilterSet):
    class Meta:
        model = Lead
        fields = ["status", "franchise", "work_type"]


class LeadViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = Lead.objects.select_related("order")
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    http_method_names = ["get", "post", "head", "options"]
