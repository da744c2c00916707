"""API for the shared worker pool."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core import hooks
from core.geo import GeoPoint
from core.schema import answers_may_omit
from franchises.api import ScopedViewSetMixin, caller
from franchises.models import User

from . import services
from .models import SKILLS, Interview, Worker
from .selectors import RATING_SHOWN_TO, rating_at_least, with_opt_out, workers_near

ANOTHER_OFFICE = "another office"


def rating_shown(rating: float) -> float:
    """The rating as the API shows it: two decimals, halves rounded up.

    Rounded from the float's shortest decimal form (what `repr` prints), so 4.165 shows as
    4.17 whatever its binary value; `min_rating` relies on exactly this rule.
    """
    return float(Decimal(repr(rating)).quantize(RATING_SHOWN_TO, rounding=ROUND_HALF_UP))


answers_may_omit(
    "Worker", "distance_km", "Kilometres from `near`: only in lists asked with `near=`."
)


class WorkerSerializer(serializers.ModelSerializer):
    phone = PhoneNumberField()
    skills = serializers.ListField(child=serializers.ChoiceField(choices=SKILLS), required=False)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    # No default here: a default would also apply to a full update (PUT) and read as an
    # attempt to turn an active worker back into an applicant. New workers default in the service.
    status = serializers.ChoiceField(choices=Worker.Status.choices, required=False)
    distance_km = serializers.FloatField(read_only=True, required=False)
    opted_out = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = [
            "id", "name", "phone", "lat", "lng", "home_area", "skills", "status", "language",
            "opted_out", "rating", "reliability", "shifts_completed", "no_shows", "vetted_at",
            "offers_received", "offers_answered", "offers_accepted", "last_offer_at",
            "notes", "recruited_by", "created_at", "distance_km",
        ]
        read_only_fields = [
            "rating", "reliability", "shifts_completed", "no_shows", "vetted_at", "recruited_by",
            "offers_received", "offers_answered", "offers_accepted", "last_offer_at",
            "created_at",
        ]

    def get_opted_out(self, worker: Worker) -> bool:
        if hasattr(worker, "opted_out"):
            return bool(worker.opted_out)
        return with_opt_out(Worker.objects.filter(pk=worker.pk)).values_list(
            "opted_out", flat=True
        ).get()

    def to_representation(self, instance: Worker) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not hasattr(instance, "distance_km"):
            data.pop("distance_km", None)
        else:
            data["distance_km"] = round(instance.distance_km, 3)
        data["rating"] = rating_shown(instance.rating)
        data["reliability"] = round(instance.reliability, 3)
        return data

    def create(self, validated_data: dict[str, Any]) -> Worker:
        return services.worker_create(**validated_data, created_by=self.context["request"].user)

    def update(self, instance: Worker, validated_data: dict[str, Any]) -> Worker:
        new_status = validated_data.pop("status", instance.status)
        if new_status != instance.status:
            raise ValidationError(
                {"status": [_("Status changes through an interview or the suspension rules.")]}
            )
        return services.worker_update(worker=instance, changed_by=self.context["request"].user,
                                      **validated_data)


class WorkerFilter(filters.FilterSet):
    skill = filters.CharFilter(method="filter_skill")
    min_rating = filters.NumberFilter(method="filter_min_rating")
    near = filters.CharFilter(method="filter_near")
    radius_km = filters.NumberFilter(method="filter_noop")
    status = filters.ChoiceFilter(choices=Worker.Status.choices)
    opted_out = filters.BooleanFilter(field_name="opted_out")

    class Meta:
        model = Worker
        fields = ["status", "skill", "min_rating", "language", "opted_out", "near", "radius_km"]

    def filter_noop(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset  # read by filter_near

    def filter_min_rating(self, queryset: Any, name: str, value: Decimal) -> Any:
        """Inclusive of the rating as shown, not as stored (see `rating_at_least`)."""
        return rating_at_least(queryset, value)

    def filter_skill(self, queryset: Any, name: str, value: str) -> Any:
        if value not in SKILLS:
            raise ValidationError({"skill": [_("Unknown skill; choose from %(choices)s.")
                                             % {"choices": list(SKILLS)}]})
        return queryset.filter(skills__has=value)

    def filter_near(self, queryset: Any, name: str, value: str) -> Any:
        try:
            lat_text, lng_text = value.split(",")
            point = GeoPoint(float(lat_text), float(lng_text))
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                {"near": [_("Give near as 'lat,lng', e.g. 59.93,30.31.")]}
            ) from exc
        radius = self.form.cleaned_data.get("radius_km")
        radius_km = 10.0 if radius is None else float(radius)
        if not 0 < radius_km <= 500:
            raise ValidationError({"radius_km": [_("Give a radius between 0 and 500 km.")]})
        return workers_near(queryset, point=point, radius_km=radius_km)


class InterviewSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Interview.Outcome.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class InterviewReadSerializer(serializers.ModelSerializer):
    """An interview as the pool shows it: the outcome, notes and moment to everyone who may read
    the worker; who held it (login and office) only to HQ and to that office."""

    recruiter = serializers.SerializerMethodField()
    office = serializers.SerializerMethodField()

    class Meta:
        model = Interview
        fields = ["id", "worker", "outcome", "notes", "imported", "at", "recruiter", "office"]

    def _own(self, interview: Interview) -> bool:
        user = self.context["request"].user
        recruiter = interview.recruiter
        if user.is_hq:
            return True
        return recruiter is not None and recruiter.franchise_id == user.franchise_id

    def get_recruiter(self, interview: Interview) -> str | None:
        if interview.recruiter is None or not self._own(interview):
            return None
        return interview.recruiter.username

    def get_office(self, interview: Interview) -> str | None:
        recruiter = interview.recruiter
        if recruiter is None or recruiter.franchise is None:
            return None
        return recruiter.franchise.name if self._own(interview) else ANOTHER_OFFICE


class InterviewPageSerializer(serializers.Serializer):
    """One page of a worker's interviews, paginated like every list."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = InterviewReadSerializer(many=True)


class WorkerHistorySerializer(serializers.Serializer):
    shifts = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    no_shows = serializers.IntegerField()
    offers_received = serializers.IntegerField()
    offers_accepted = serializers.IntegerField()
    events = serializers.ListField(child=serializers.DictField())


class WorkerViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = with_opt_out(Worker.objects.all())
    serializer_class = WorkerSerializer
    filterset_class = WorkerFilter
    ordering_fields = ["rating", "reliability", "name", "id", "shifts_completed"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    # What the recruiter's pages do: read the pool, add applicants, interview them.
    recruiter_actions = ("create", "interview")

    @extend_schema(responses=WorkerHistorySerializer)
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """The worker's record: shifts, hours, no-shows, and every rating event."""
        history = hooks.worker_history.get()
        if history is None:  # no app above the pool keeps records
            raise NotFound("No record is kept of workers' shifts.")
        return Response(WorkerHistorySerializer(
            history(self.get_object(), user=request.user)).data)

    @extend_schema(responses=InterviewPageSerializer)
    @action(detail=True, methods=["get"])
    def interviews(self, request: Request, pk: str | None = None) -> Response:
        """The worker's interviews, newest first (paginated). Who held one is shown to HQ and to
        that office only; a foreman reads none."""
        user = caller(request)
        if user.role == User.Role.FOREMAN and not user.is_hq:
            raise PermissionDenied("A foreman login does not read interviews.")
        worker = self.get_object()
        interviews = (worker.interviews.select_related("recruiter__franchise")
                      .order_by("-at", "-id"))
        page = self.paginate_queryset(interviews)
        serializer = InterviewReadSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=InterviewSerializer, responses=WorkerSerializer)
    @action(detail=True, methods=["post"])
    def interview(self, request: Request, pk: str | None = None) -> Response:
        worker = self.get_object()
        form = InterviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.worker_interview(worker=worker, recruiter=request.user, **form.validated_data)
        worker.refresh_from_db()
        return Response(WorkerSerializer(worker).data, status=status.HTTP_200_OK)
