"""API for prices, invoices, pay, royalty statements and the network benchmark."""

import csv
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError as ModelValidationError
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status, views, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clients.models import Conditions, WorkType
from core import clock
from core.api import START_HELP, WallClockDateTimeField
from core.filters import RelatedIdFilter, ScopedFilterSet
from franchises.api import (
    IDEMPOTENCY_KEY_PARAMETER,
    IsHQOrReadOnly,
    OwnFranchiseField,
    ScopedViewSetMixin,
    caller,
    idempotent_response,
)
from franchises.models import Franchise

from . import services
from .benchmarks import METRICS, network_medians, sort_rows
from .models import Credit, InvoiceLine, PayLine, RateCard, RoyaltyStatement
from .pricing import money
from .selectors import benchmark_rows


class KeepsTheBooks(permissions.BasePermission):
    """Prices, revenue and royalties are the office's and HQ's business, not a foreman's
    (his login runs orders on site) nor a recruiter's (theirs is the worker pool); statements,
    lines and rate cards are already out of their scope."""

    message = "Only the office and HQ see the franchise's prices and figures."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return user.is_superuser or getattr(user, "role", None) in ("hq", "franchise")


class RateCardSerializer(serializers.ModelSerializer):
    franchise = OwnFranchiseField(queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ))

    class Meta:
        model = RateCard
        fields = ["id", "franchise", "work_type", "bill_rate", "pay_rate", "min_hours",
                  "night_factor", "weekend_factor"]


class RateCardViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = RateCard.objects.order_by("franchise_id", "work_type")
    serializer_class = RateCardSerializer
    filterset_fields = ["franchise", "work_type"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class QuoteRequestSerializer(serializers.Serializer):
    franchise = OwnFranchiseField(queryset=Franchise.objects.exclude(kind=Franchise.Kind.HQ))
    work_type = serializers.ChoiceField(choices=WorkType.choices)
    conditions = serializers.ChoiceField(choices=Conditions.choices)
    headcount = serializers.IntegerField(min_value=1, max_value=500)
    hours = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=Decimal("0.5"),
                                     max_value=Decimal(24))
    start = WallClockDateTimeField(help_text=START_HELP)


class QuoteSerializer(serializers.Serializer):
    bill_rate = serializers.DecimalField(max_digits=10, decimal_places=2)
    pay_rate = serializers.DecimalField(max_digits=10, decimal_places=2)
    hours_billed = serializers.DecimalField(max_digits=5, decimal_places=1)
    headcount = serializers.IntegerField()
    total_bill = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_pay = serializers.DecimalField(max_digits=14, decimal_places=2)
    breakdown = serializers.ListField(child=serializers.CharField())


class QuoteView(views.APIView):
    """The price to tell a client on the phone: POST the order's terms, get the rates."""

    permission_classes = (permissions.IsAuthenticated, KeepsTheBooks)

    @extend_schema(request=QuoteRequestSerializer, responses=QuoteSerializer)
    def post(self, request: Request) -> Response:
        form = QuoteRequestSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        quote = services.rate_quote(**form.validated_data)
        return Response(QuoteSerializer(quote).data)


class _PeriodField(forms.CharField):
    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value:
            try:
                services.validate_period(value)
            except ModelValidationError as exc:
                raise forms.ValidationError(exc.message_dict["period"]) from exc
        return value


class PeriodFilter(filters.CharFilter):
    """A "YYYY-MM" month: anything else is a 400, as on the benchmark, not an empty list
    that reads as "nothing was invoiced"."""

    field_class = _PeriodField


class LineFilter(ScopedFilterSet):
    period = PeriodFilter()

    class Meta:
        fields = ["period", "franchise", "order", "worker"]


# A text cell starting with one of these is read by spreadsheet software as a formula: a
# worker who names himself =HYPERLINK(...) would put a live link in the accountant's sheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell: text that could be read as a formula gets a leading apostrophe, which
    spreadsheets take as "this is text" (a phone number +7... then stays readable instead of
    turning into 7.9E+10). Numbers and dates are written as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value


def _local_date(line: InvoiceLine | PayLine) -> date:
    """The day the order started in its franchise's time zone, the day its period counts."""
    return line.order.start.astimezone(ZoneInfo(line.franchise.timezone)).date()


def _csv(rows: list[list[Any]], header: list[str], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A byte-order mark so spreadsheet programs open Cyrillic names correctly.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return response


class InvoiceLineSerializer(serializers.ModelSerializer):
    note = serializers.CharField(read_only=True, help_text="The billing rule behind the line.")

    class Meta:
        model = InvoiceLine
        fields = ["id", "franchise", "client", "order", "worker", "period", "hours", "rate",
                  "amount", "currency", "basis", "note", "created_at"]


class InvoiceLineFilter(LineFilter):
    class Meta(LineFilter.Meta):
        model = InvoiceLine
        fields = [*LineFilter.Meta.fields, "client", "basis"]


class InvoiceLineViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    # The order's headcount is in each line's note.
    queryset = InvoiceLine.objects.select_related("order").order_by(
        "period", "order_id", "worker_id")
    serializer_class = InvoiceLineSerializer
    filterset_class = InvoiceLineFilter

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse:
        """CSV of the filtered lines (e.g. ?period=2026-10) for the accountants."""
        lines = self.filter_queryset(self.get_queryset()).select_related(
            "client", "order", "worker", "franchise"
        )
        rows = [[line.period, line.client.name, line.order.code, _local_date(line),
                 line.worker.name, line.hours, line.rate, line.amount, line.currency,
                 line.basis, line.note]
                for line in lines]
        header = ["period", "client", "order", "date", "worker", "hours", "rate", "amount",
                  "currency", "basis", "note"]
        return _csv(rows, header, "invoice-lines.csv")


class PayLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayLine
        fields = ["id", "franchise", "order", "worker", "period", "kind", "hours", "rate",
                  "amount", "currency", "created_at"]


class PayLineFilter(LineFilter):
    # A pay line has no client of its own: it is the order's.
    client = RelatedIdFilter(field_name="order__client")

    class Meta(LineFilter.Meta):
        model = PayLine
        fields = [*LineFilter.Meta.fields, "kind"]


class PayLineViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = PayLine.objects.order_by("period", "order_id", "worker_id")
    serializer_class = PayLineSerializer
    filterset_class = PayLineFilter

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse:
        """CSV of the filtered pay lines: hours, show-up fees and standby fees (`kind`)."""
        lines = self.filter_queryset(self.get_queryset()).select_related(
            "order", "worker", "franchise"
        )
        rows = [[line.period, line.worker.name, str(line.worker.phone), line.order.code,
                 _local_date(line), line.hours, line.rate, line.amount, line.currency,
                 line.kind]
                for line in lines]
        header = ["period", "worker", "phone", "order", "date", "hours", "rate", "amount",
                  "currency", "kind"]
        return _csv(rows, header, "pay-lines.csv")


class CreditSerializer(serializers.ModelSerializer):
    class Meta:
        model = Credit
        fields = ["id", "franchise", "client", "period", "amount", "reason", "created_at"]

    def validate_period(self, value: str) -> str:
        try:
            return services.validate_period(value)
        except ModelValidationError as exc:
            raise ValidationError(exc.message_dict["period"]) from exc

    def create(self, validated_data: dict[str, Any]) -> Credit:
        # The rules (the client's own franchise, a month begun, no more than was invoiced)
        # are the service's; its ValidationError is a 400 on the field at fault.
        return services.credit_give(**validated_data)


class CreditFilter(ScopedFilterSet):
    period = PeriodFilter()

    class Meta:
        model = Credit
        fields = ["franchise", "client", "period"]


class CreditViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Credits to clients. HQ gives them and may take back one given by mistake (DELETE):
    a credit is not edited, it is withdrawn and given again, so each amount that ever
    lowered a statement was a whole credit."""

    queryset = Credit.objects.order_by("-created_at")
    serializer_class = CreditSerializer
    permission_classes = (permissions.IsAuthenticated, IsHQOrReadOnly)
    filterset_class = CreditFilter
    http_method_names = ["get", "post", "delete", "head", "options"]

    def perform_destroy(self, instance: Credit) -> None:
        services.credit_withdraw(credit=instance, withdrawn_by=self.request.user)


class RoyaltyStatementSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoyaltyStatement
        fields = ["id", "franchise", "period", "invoiced", "credits", "adjustment", "turnover",
                  "royalty_rate", "royalty", "monthly_fee", "brought_forward", "total", "paid",
                  "currency", "status", "carried_into", "issued_at", "due_on"]
        read_only_fields = fields


class PaymentSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      min_value=Decimal("0.01"))
    paid_on = serializers.DateField()


class RoyaltyStatementFilter(ScopedFilterSet):
    period = PeriodFilter()

    class Meta:
        model = RoyaltyStatement
        fields = ["franchise", "period", "status"]


class RoyaltyStatementViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = RoyaltyStatement.objects.select_related("franchise").order_by(
        "-period", "franchise_id"
    )
    serializer_class = RoyaltyStatementSerializer
    filterset_class = RoyaltyStatementFilter

    @extend_schema(request=PaymentSerializer, responses=RoyaltyStatementSerializer,
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str | None = None) -> Response:
        """Record a payment against the statement (HQ or the franchise's own login). With an
        `Idempotency-Key`, a retry answers as the first request did and pays nothing more."""
        statement = self.get_object()  # another franchise's statement is 404, whatever the body

        def pay_once() -> Response:
            form = PaymentSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            paid = services.statement_pay(
                statement=statement, recorded_by=request.user, **form.validated_data
            )
            return Response(RoyaltyStatementSerializer(paid).data)

        return idempotent_response(request, scope=f"royalty-statements/{statement.pk}/pay",
                                   perform=pay_once)

    @extend_schema(responses=InvoiceLineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def lines(self, request: Request, pk: str | None = None) -> Response:
        """The trail behind the statement: every invoice line of the franchise and period."""
        statement = self.get_object()
        lines = InvoiceLine.objects.filter(
            franchise=statement.franchise, period=statement.period
        ).select_related("order").order_by("order_id", "worker_id")
        page = self.paginate_queryset(lines)
        return self.get_paginated_response(InvoiceLineSerializer(page, many=True).data)


def _figure(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(money(value))
    if isinstance(value, float):
        return round(value, 4)
    return value


class BenchmarkRowSerializer(serializers.Serializer):
    franchise = serializers.IntegerField()
    name = serializers.CharField()
    orders = serializers.IntegerField()
    slots = serializers.IntegerField()
    fill_rate = serializers.FloatField(allow_null=True)
    no_show_rate = serializers.FloatField(allow_null=True)
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    royalty = serializers.DecimalField(max_digits=14, decimal_places=2)
    avg_rating = serializers.FloatField(allow_null=True)
    median_minutes_to_fill = serializers.FloatField(allow_null=True)
    overbooking_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2,
        help_text="Show-up fees (surplus sent home) and standby fees (never called) paid.")
    margin_per_order = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True,
        help_text="(billed - paid - fees) per completed order.")


class BenchmarkReportSerializer(serializers.Serializer):
    period = serializers.CharField()
    results = BenchmarkRowSerializer(many=True)
    network_median = serializers.DictField()


class BenchmarkView(views.APIView):
    """Each location's figures for a month beside the network median of each."""

    permission_classes = (permissions.IsAuthenticated, KeepsTheBooks)

    @extend_schema(
        responses=BenchmarkReportSerializer,
        parameters=[
            OpenApiParameter("period", str, required=True, description="YYYY-MM"),
            OpenApiParameter("ordering", str, required=False),
        ],
    )
    def get(self, request: Request) -> Response:
        period = request.query_params.get("period") or clock.now().strftime("%Y-%m")
        try:
            services.validate_period(period)
        except ModelValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        rows = benchmark_rows(period=period)
        medians = network_medians(rows)
        user = caller(request)
        if not user.is_hq:
            # A franchise sees its own row beside the network medians, never its peers' rows.
            rows = [row for row in rows if row.franchise_id == user.franchise_id]
        try:
            rows = sort_rows(rows, request.query_params.get("ordering", "name"))
        except ValueError as exc:
            raise ValidationError({"ordering": [str(exc)]}) from exc
        return Response(
            {
                "period": period,
                "results": [
                    {"franchise": row.franchise_id, "name": row.name,
                     **{metric: _figure(getattr(row, metric)) for metric in METRICS}}
                    for row in rows
                ],
                "network_median": {metric: _figure(value) for metric, value in medians.items()},
            },
            status=status.HTTP_200_OK,
        )
