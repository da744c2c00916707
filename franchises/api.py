"""API for the network, and the scoped base classes every app's API builds on."""

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, permissions, serializers, status, views, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import SafeJSONParser

from .auth import issue_token, lockout_message, token_expires_at
from .idempotency import HEADER, KeyMalformed, KeyReused, claimed, clean_key, fingerprint
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


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER, location=OpenApiParameter.HEADER, required=False, type=str,
    description="Makes a retry safe: the same key with the same body answers as the first "
                "request did and records nothing more; the same key with another body is a "
                "422. Keys are the caller's own and kept for IDEMPOTENCY_KEY_HOURS (24).",
)


def idempotent_response(request: Any, *, scope: str, perform: Callable[[], Response]
                        ) -> Response:
    """Run `perform` once per `Idempotency-Key` of the caller for `scope`, replaying its answer
    to a retry (with `Idempotent-Replayed: true`). Without the header it simply runs."""
    try:
        key = clean_key(request.headers.get(HEADER))
    except KeyMalformed as exc:
        raise serializers.ValidationError({HEADER: [exc.message]}) from exc
    if key is None:
        return perform()
    try:
        with claimed(user=request.user, scope=scope, key=key,
                     asked=fingerprint(scope, request.data)) as claim:
            if claim.replay is not None:
                status, body = claim.replay
                replayed = Response(body, status=status)
                replayed["Idempotent-Replayed"] = "true"
                return replayed
            response = perform()
            if 200 <= response.status_code < 300:
                claim.record(response.status_code, response.data)
            return response
    except KeyReused as exc:
        return Response({"detail": exc.message}, status=422)


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
                _("A territory is a GeoJSON object (Polygon or MultiPolygon), not a string.")
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


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


class TokenObtainView(ObtainAuthToken):
    """Exchange a username and password for the login's API token; send it back as
    `Authorization: Token <token>`. The token is refused once `expires_at` has passed (a new
    one is issued at the next exchange) or once revoked at `/api/v1/auth/logout/`.

    After too many failed attempts for a username or from an address the answer is 429,
    the right password included, until the cool-off has passed."""

    # DRF's view names the plain JSON parser, which a deeply nested body turns into a 500.
    parser_classes = (SafeJSONParser, parsers.FormParser, parsers.MultiPartParser)
    # The username and password are the credentials: no token or session is read.
    authentication_classes = ()

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: TokenSerializer,
            429: OpenApiResponse(
                description="Locked out after too many failed logins; Retry-After says for "
                "how long."
            ),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        valid = serializer.is_valid()
        # django-axes flags the request when the attempt was refused for a lock-out.
        if getattr(request, "axes_locked_out", False):
            raise exceptions.Throttled(
                wait=settings.LOGIN_COOLOFF_MINUTES * 60, detail=lockout_message()
            )
        if not valid:
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        # As a page login does: the failure count is cleared and last_login recorded.
        user_logged_in.send(sender=type(user), request=request, user=user)
        token = issue_token(user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})


class TokenRevokeView(views.APIView):
    """Revoke the token this request carries: it is refused from now on. A session login
    (the web pages) has no token and gets 204 too; it logs out at /accounts/logout/."""

    permission_classes = (permissions.IsAuthenticated,)

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, Token):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
