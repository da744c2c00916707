"""API for orders and their offers."""

from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from clients.api import LeadSerializer
from clients.api import LeadViewSet as BaseLeadViewSet
from clients.models import Client, LeadHop, Site
from clients.routing import lead_hand_on, lead_reject
from core.api import START_HELP, WallClockDateTimeField
from core.filters import ScopedFilterSet
from franchises.api import (
    IDEMPOTENCY_KEY_PARAMETER,
    OwnFranchiseField,
    ScopedRelatedField,
    ScopedViewSetMixin,
    caller,
    idempotent_response,
)
from franchises.models import Franchise, User

from . import services
from .models import Appeal, Offer, Order
from .selectors import COUNT_NAMES, orders_with_counts
from .services.appeals import appeal_decide
from .services.leads import lead_accept
from .services.lifecycle import order_cancel
from .services.onsite import (
    AttendanceEntry,
    FeedbackEntry,
    attendance_record,
    feedback_record,
    order_complete,
)


class OrderCountsSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    accepted = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    standby = serializers.IntegerField()
    present = serializers.IntegerField()
    no_show = serializers.IntegerField()


class OrderSerializer(serializers.ModelSerializer):
    client = ScopedRelatedField(queryset=Client.objects.all())
    site = ScopedRelatedField(queryset=Site.objects.all())
    # HQ places an order for any franchise; anybody else only for their own (400 otherwise).
    franchise = OwnFranchiseField(
        queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ), required=False
    )
    foreman = ScopedRelatedField(
        queryset=User.objects.filter(role=User.Role.FOREMAN), required=False, allow_null=True
    )
    bill_rate = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    pay_rate = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    start = WallClockDateTimeField(help_text=START_HELP)
    local_start = serializers.SerializerMethodField(
        help_text="The start in the franchise's time zone, with its UTC offset."
    )
    timezone = serializers.CharField(source="franchise.timezone", read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id", "code", "client", "site", "franchise", "foreman", "work_type", "headcount",
            "start", "local_start", "timezone", "hours", "bill_rate", "pay_rate", "status",
            "overbook_policy", "booking_target", "foremen_needed", "waves_sent", "notes",
            "counts", "created_at", "filled_at",
        ]
        read_only_fields = [
            "code", "status", "booking_target", "waves_sent", "created_at", "filled_at",
        ]

    def get_local_start(self, order: Order) -> str:
        return order.start.astimezone(ZoneInfo(order.franchise.timezone)).isoformat()

    @extend_schema(responses=OrderCountsSerializer)
    def get_counts(self, order: Order) -> dict[str, int]:
        if hasattr(order, "count_invited"):
            return {name: getattr(order, f"count_{name}") for name in COUNT_NAMES}
        annotated = orders_with_counts(Order.objects.filter(pk=order.pk)).get()
        return {name: getattr(annotated, f"count_{name}") for name in COUNT_NAMES}

    def create(self, validated_data: dict[str, Any]) -> Order:
        user = self.context["request"].user
        if not user.is_hq:
            validated_data.setdefault("franchise", user.franchise)
        return services.order_place(**validated_data, created_by=user)

    def update(self, instance: Order, validated_data: dict[str, Any]) -> Order:
        return services.order_update(order=instance, **validated_data)


class OfferSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.name", read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id", "worker", "worker_name", "wave", "sent_at", "response", "responded_at",
            "channel", "state", "attendance", "checked_in_at", "hours_worked", "kept",
            "sent_home_at",
        ]
        read_only_fields = ["kept", "sent_home_at"]


class OrderFilter(ScopedFilterSet):
    start_after = filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["status", "franchise", "client", "site", "work_type", "code", "foreman"]


class LeadHopSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadHop
        fields = ["franchise", "reason", "outcome", "offered_at", "answered_at"]


# The largest id every backend's integer key holds: a larger "worker" would overflow the
# query (OverflowError on SQLite, DataError on PostgreSQL) instead of naming nobody.
MAX_ID = 2**31 - 1


class AttendanceEntrySerializer(serializers.Serializer):
    worker = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(
        choices=[Offer.Attendance.PRESENT, Offer.Attendance.LATE, Offer.Attendance.NO_SHOW]
    )
    # More places than payroll keeps, so 7.3 reaches the rule that says "quarter hours".
    hours = serializers.DecimalField(
        max_digits=8, decimal_places=4, min_value=0, max_value=36, required=False,
        allow_null=True,
        help_text="Hours worked, to the quarter hour (7.25 is 7 h 15 min); at most the shift's "
                  "length plus the overtime setting (default 4 h). Ignored for no_show.",
    )
    kept = serializers.BooleanField(
        required=False,
        help_text="An extra worker beyond the headcount the client asked to keep: billed and "
                  "paid the hours. Left out: the mark stays as it is.",
    )


class FeedbackEntrySerializer(serializers.Serializer):
    """One score. A foreman gives `foreman` scores only; a `client` score comes from the
    client's SMS, or from an office or HQ login passing on what the client said."""

    worker = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    score = serializers.IntegerField(min_value=1, max_value=5)
    # Named like a Field attribute the stubs declare; DRF takes declared fields off the class.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["foreman", "client"]
    )


def _entries(serializer_class: type, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise ValidationError({"detail": [_("Send a non-empty JSON list of entries.")]})
    form = serializer_class(data=data, many=True)
    form.is_valid(raise_exception=True)
    workers = [entry["worker"] for entry in form.validated_data]
    if len(set(workers)) != len(workers):
        raise ValidationError({"worker": [_("A worker is listed twice.")]})
    return form.validated_data


class OrderOnSiteMixin(GenericAPIView):
    """Actions the foreman takes on site: attendance and scores; and completion."""

    foreman_actions = ("attendance", "feedback")

    def _order_response(self, order: Order) -> Response:
        fresh = self.get_queryset().get(pk=order.pk)
        return Response(OrderSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        request=AttendanceEntrySerializer(many=True), responses=OfferSerializer(many=True)
    )
    @action(detail=True, methods=["post"])
    def attendance(self, request: Request, pk: str | None = None) -> Response:
        entries = _entries(AttendanceEntrySerializer, request.data)
        offers = attendance_record(
            order=self.get_object(),
            entries=[AttendanceEntry(e["worker"], e["status"], e.get("hours"), e.get("kept"))
                     for e in entries],
        )
        return Response(OfferSerializer(offers, many=True).data)

    @extend_schema(request=FeedbackEntrySerializer(many=True), responses=None)
    @action(detail=True, methods=["post"])
    def feedback(self, request: Request, pk: str | None = None) -> Response:
        entries = _entries(FeedbackEntrySerializer, request.data)
        user = caller(request)
        if (not user.is_hq and user.role == User.Role.FOREMAN
                and any(entry["source"] == "client" for entry in entries)):
            raise ValidationError(
                {"source": [_("A foreman gives foreman scores; the client scores by SMS or "
                              "through the office.")]}
            )
        recorded = feedback_record(
            order=self.get_object(),
            entries=[FeedbackEntry(e["worker"], e["score"], e["source"]) for e in entries],
        )
        return Response({"recorded": recorded})

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        order = order_complete(order=self.get_object())
        return self._order_response(order)


class OrderViewSet(OrderOnSiteMixin, ScopedViewSetMixin, viewsets.ModelViewSet):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["start", "created_at", "id"]
    queryset = Order.objects.all()

    @extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Place an order. With an `Idempotency-Key`, a retry (a call centre's double click, a
        lost answer) answers as the first request did and places nothing more."""
        place = super().create
        return idempotent_response(request, scope="orders",
                                   perform=lambda: place(request, *args, **kwargs))

    def get_queryset(self) -> Any:
        return (
            orders_with_counts(super().get_queryset())
            .select_related("franchise")
            .order_by("-start", "-id")
        )

    def perform_destroy(self, instance: Order) -> None:
        if instance.status != Order.Status.DRAFT:
            raise ValidationError(
                {"status": [_("Only a draft can be deleted; cancel it instead.")]}
            )
        try:
            instance.delete()
        except ProtectedError as exc:
            raise ValidationError({"detail": [_("This order is referenced elsewhere.")]}) from exc

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def callout(self, request: Request, pk: str | None = None) -> Response:
        """Start the SMS call-out: booking target, the first wave, timed next waves."""
        order = services.callout_start(order=self.get_object())
        return self._order_response(order)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Run the optimiser now over the franchise's open orders."""
        order = self.get_object()
        if order.status not in (Order.Status.CALLING, Order.Status.FILLED):
            raise ValidationError({"status": [_("Nothing to assign: the order is %(status)s.")
                                              % {"status": order.status}]})
        services.assignment_run(franchise_id=order.franchise_id)
        return self._order_response(order)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the order; confirmed and standby workers are told by SMS."""
        order = order_cancel(order=self.get_object())
        return self._order_response(order)

    @extend_schema(responses=OfferSerializer(many=True))
    @action(detail=True, methods=["get"])
    def offers(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        offers = order.offers.select_related("worker").order_by("wave", "id")
        page = self.paginate_queryset(offers)
        if page is not None:
            return self.get_paginated_response(OfferSerializer(page, many=True).data)
        return Response(OfferSerializer(offers, many=True).data, status=status.HTTP_200_OK)


class AppealSerializer(serializers.ModelSerializer):
    worker = serializers.IntegerField(source="offer.worker_id", read_only=True)
    order = serializers.IntegerField(source="offer.order_id", read_only=True)
    order_code = serializers.CharField(source="offer.order.code", read_only=True)

    class Meta:
        model = Appeal
        fields = ["id", "worker", "order", "order_code", "status", "text", "created_at",
                  "decided_at", "decided_by", "notes"]
        read_only_fields = fields


class AppealDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["reverse", "uphold"])
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class AppealViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """No-show appeals; a recruiter (HQ or the franchise) reverses or upholds each."""

    queryset = Appeal.objects.select_related("offer", "offer__order").order_by("-created_at")
    serializer_class = AppealSerializer
    filterset_fields = ["status"]

    @extend_schema(request=AppealDecisionSerializer, responses=AppealSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        form = AppealDecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        appeal = appeal_decide(
            appeal=self.get_object(), reverse=form.validated_data["decision"] == "reverse",
            decided_by=request.user, notes=form.validated_data["notes"],
        )
        return Response(AppealSerializer(appeal).data)


class LeadDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class LeadHandOnSerializer(serializers.Serializer):
    franchise = serializers.PrimaryKeyRelatedField(
        queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ)
    )


class LeadViewSet(BaseLeadViewSet):
    """Leads, plus the holder's answer: accept (one order is made) or reject (next candidate),
    and HQ handing on a lead it holds."""

    @extend_schema(request=LeadHandOnSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], url_path="hand-on")
    def hand_on(self, request: Request, pk: str | None = None) -> Response:
        """HQ offers a lead it holds (no franchise covered it, or all turned it down) to the
        franchise it chooses."""
        lead = self.get_object()
        if not caller(request).is_hq:
            raise PermissionDenied("Only HQ hands a lead on.")
        form = LeadHandOnSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_hand_on(lead=lead, franchise=form.validated_data["franchise"],
                            user=request.user)
        return Response(LeadSerializer(lead, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        order = lead_accept(lead=self.get_object(), user=request.user)
        fresh = orders_with_counts(Order.objects.filter(pk=order.pk)).get()
        return Response(
            OrderSerializer(fresh, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=LeadDecisionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        form = LeadDecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_reject(lead=self.get_object(), reason=form.validated_data["reason"])
        return Response(LeadSerializer(lead, context=self.get_serializer_context()).data)

    @extend_schema(responses=LeadHopSerializer(many=True))
    # The whole journey at once: a short list, neither paginated nor filtered.
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def hops(self, request: Request, pk: str | None = None) -> Response:
        """The lead's journey: every franchise offered it, and how each answered."""
        lead = self.get_object()
        return Response(LeadHopSerializer(lead.hops.order_by("offered_at", "id"), many=True).data)
