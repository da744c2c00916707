"""API for the network, and the scoped base classes every app's API builds on."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django_filters import rest_framework as filters
from rest_framework import parsers, permissions, serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request

from core.api import SafeJSONParser

from .models import REPLY_CHANNELS, Franchise, User
from .scoping import can_manage_network, scope_queryset
from .services import franchise_save


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key the caller may only point at rows inside their own scope.

    A row outside it reads as 'does not exist', the same answer as a wrong id, so the API
    never reveals what other franchises hold.
    """

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if queryset is None:  # a read-only field has no queryset to narrow
            return None
        request = self.context.get("request")
        return scope_queryset(queryset, getattr(request, "user", None))


def _refuse_once_found(view: Any) -> bool:
    """Refuse a write, but on a detail route only after looking the object up.

    A permission runs before the view fetches its object, so refusing straight away would
    answer 403 for another franchise's row (and for an id that exists nowhere), telling the
    caller it is there. Looking it up through the view's scoped queryset first makes those a
    404, exactly as a read would; only an object the caller can see gets the 403. The lookup
    happens here rather than in `has_object_permission` so a detail action that never calls
    `get_object` cannot slip through. It costs one query, on refused writes only.
    """
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    if lookup and lookup in getattr(view, "kwargs", {}) and hasattr(view, "get_object"):
        view.get_object()  # Http404 when the caller cannot see it
    return False


class OwnFranchiseField(ScopedRelatedField):
    """The franchise a row belongs to: any for HQ, only the caller's own for anybody else.

    Franchise rows are shared network-wide (they have no `franchise_scope`), so the plain
    scoped field would accept another franchise's id. Here it reads as 'does not exist', the
    same 400 as a wrong id, rather than being quietly replaced by the caller's franchise.
    """

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        user = getattr(self.context.get("request"), "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        return queryset if user.is_hq else queryset.filter(pk=user.franchise_id)


class IsHQOrReadOnly(permissions.BasePermission):
    message = "Only HQ may change this."

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS or can_manage_network(request.user):
            return True
        return _refuse_once_found(view)


class ForemanReadOnly(permissions.BasePermission):
    """Foremen read their orders and record attendance; they do not edit the books."""

    message = "A foreman login cannot change this."

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        if getattr(user, "role", None) != "foreman" or user.is_superuser:
            return True
        if getattr(view, "action", None) in getattr(view, "foreman_actions", ()):
            return True
        return _refuse_once_found(view)


class RecruiterPoolOnly(permissions.BasePermission):
    """A recruiter keeps the shared worker pool: the actions a viewset names in
    `recruiter_actions` (reading workers, adding applicants, recording interviews). Clients,
    sites, leads, orders and the books are a franchise's: scoping already hides them from a
    recruiter, and this refuses any write to them."""

    message = "A recruiter login works with the worker pool only."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if getattr(user, "role", None) != "recruiter" or user.is_superuser:
            return True
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "action", None) in getattr(view, "recruiter_actions", ()):
            return True
        return _refuse_once_found(view)


def caller(request: Request) -> User:
    """The signed-in user of a request that passed `IsAuthenticated`."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


class ScopedViewSetMixin(GenericAPIView):
    """Narrows the queryset to the caller's scope: outside it, objects are 404. Put it before
    the viewset class it narrows (`class XViewSet(ScopedViewSetMixin, ModelViewSet)`)."""

    permission_classes: Sequence[type[permissions.BasePermission]] = (
        permissions.IsAuthenticated, ForemanReadOnly, RecruiterPoolOnly,
    )

    def get_queryset(self) -> Any:
        return scope_queryset(super().get_queryset(), self.request.user)


class FranchiseSerializer(serializers.ModelSerializer):
    reply_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=REPLY_CHANNELS), required=False, allow_empty=False
    )
    territory = serializers.JSONField(required=False, allow_null=True)

    class Meta:
        model = Franchise
        fields = [
            "id", "name", "kind", "city", "timezone", "currency", "royalty_rate", "monthly_fee",
            "territory", "is_active", "reply_channels", "booking_ratio", "standby_fee",
            "show_up_fee", "manager_phone", "leads_paused_until",
        ]

    def validate_territory(self, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError(
                "A territory is a GeoJSON object (Polygon or MultiPolygon), not a string."
            )
        return value

    def save(self, **kwargs: Any) -> Franchise:
        instance = self.instance or Franchise()
        for field, value in {**self.validated_data, **kwargs}.items():
            setattr(instance, field, value)
        with transaction.atomic():
            self.instance = franchise_save(franchise=instance)
        return self.instance


class FranchiseFilter(filters.FilterSet):
    class Meta:
        model = Franchise
        fields = ["kind", "city", "is_active"]


class FranchiseViewSet(viewsets.ModelViewSet):
    serializer_class = FranchiseSerializer
    permission_classes = (permissions.IsAuthenticated, IsHQOrReadOnly)
    filterset_class = FranchiseFilter
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    queryset = Franchise.objects.order_by("id")

    def get_queryset(self) -> Any:
        user = caller(self.request)
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or user.is_hq:
            return queryset
        return queryset.filter(pk=user.franchise_id)


class TokenObtainView(ObtainAuthToken):
    """Exchange a username and password for the login's API token; send it back as
    `Authorization: Token <token>`."""

    # DRF's view names the plain JSON parser, which a deeply nested body turns into a 500.
    parser_classes = (SafeJSONParser, parsers.FormParser, parsers.MultiPartParser)
