"""The worker pool's pages: search, a worker's profile, and what a recruiter or an office does
there (interviews, photos, appeals).

The pool is shared by the network: HQ, franchise staff and recruiters all read it. What a
worker did on orders is not: another franchise's orders show on a record without their code
or id. Every write goes through the service the API calls (`worker_interview`,
`worker_update`, `appeal_decide`); a refusal comes back as an error next to its field, with
nothing written.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from clients.models import Site
from clients.services import address_geocode
from core import clock
from core.geo import GeoPoint
from dispatch.event_notes import Note, note_read
from dispatch.models import Appeal, Offer
from dispatch.selectors import appeals_of_worker, offers_of_worker, order_codes_readable
from dispatch.services.appeals import appeal_decide
from franchises.scoping import scope_queryset
from ratings.scoring import EventKind
from ratings.selectors import rating_events_latest, rating_history
from workers.access import changeable_fields, may_interview
from workers.models import Interview, Worker
from workers.photos import photo_thumbnail
from workers.selectors import WorkerSearch, with_opt_out, workers_search
from workers.services import worker_interview, worker_update

from . import charts
from .access import (
    FOREMAN,
    FRANCHISE,
    HQ,
    RECRUITER,
    SignedInRequest,
    forbidden,
    role_of,
    roles_required,
)
from .forms import address_errors
from .local_time import LocalTime, local_time
from .workers_forms import (
    SKILL_LABELS,
    STATUS_LABELS,
    AppealDecisionForm,
    InterviewForm,
    PhotoForm,
    WorkerEditForm,
    WorkerSearchForm,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 50
EVENTS_SHOWN = 100
OFFERS_SHOWN = 50
INTERVIEWS_SHOWN = 50
DEFAULT_RADIUS_KM = 10.0
# A foreman sees the photos of the people on his crews: booked or standing by.
CREW_STATES = (Offer.State.CONFIRMED, Offer.State.STANDBY)

STATUS_BADGES: dict[str, str] = {Worker.Status.ACTIVE: "ok", Worker.Status.APPLICANT: "warn",
                 Worker.Status.SUSPENDED: "bad", Worker.Status.BLOCKED: "bad"}
EVENT_LABELS: "dict[str, StrOrPromise]" = {
    EventKind.SHOW: gettext_lazy("Shift worked"),
    EventKind.LATE: gettext_lazy("Came late"),
    EventKind.NO_SHOW: gettext_lazy("No-show"),
    EventKind.LATE_CANCEL: gettext_lazy("Withdrew under 24 h"),
    EventKind.VERY_LATE_CANCEL: gettext_lazy("Withdrew under 2 h"),
    EventKind.CANCEL: gettext_lazy("Withdrew in good time"),
    EventKind.SCORE: gettext_lazy("Score"),
}
SOURCE_LABELS: "dict[str, StrOrPromise]" = {
    "foreman": gettext_lazy("foreman"), "client": gettext_lazy("client"),
}
RESPONSE_LABELS: "dict[str, StrOrPromise]" = {Offer.Response.ACCEPTED: gettext_lazy("Yes"),
                   Offer.Response.DECLINED: gettext_lazy("No")}
STATE_LABELS: "dict[str, StrOrPromise]" = {
    Offer.State.OFFERED: gettext_lazy("Offered"),
    Offer.State.CONFIRMED: gettext_lazy("Confirmed"),
    Offer.State.STANDBY: gettext_lazy("Standby"),
    Offer.State.RELEASED: gettext_lazy("Released"),
    Offer.State.CANCELLED: gettext_lazy("Cancelled"),
}
ATTENDANCE_LABELS: "dict[str, StrOrPromise]" = {
    Offer.Attendance.PRESENT: gettext_lazy("Present"),
    Offer.Attendance.LATE: gettext_lazy("Late"),
    Offer.Attendance.NO_SHOW: gettext_lazy("No-show"),
    Offer.Attendance.EXCUSED: gettext_lazy("Excused"),
}
APPEAL_LABELS: "dict[str, StrOrPromise]" = {
    Appeal.Status.PENDING: gettext_lazy("Pending"),
    Appeal.Status.UPHELD: gettext_lazy("No-show upheld"),
    Appeal.Status.REVERSED: gettext_lazy("No-show reversed"),
}
OUTCOME_LABELS: "dict[str, StrOrPromise]" = {
    Interview.Outcome.PASSED: gettext_lazy("Passed"),
    Interview.Outcome.FAILED: pgettext_lazy("interview", "Failed"),
}


def _skills(worker: Worker) -> list[str]:
    return [str(SKILL_LABELS.get(skill, skill)) for skill in worker.skills]


def _pool(user: Any) -> QuerySet[Worker]:
    return scope_queryset(Worker.objects.all(), user)


def _worker_or_404(request: HttpRequest, worker_id: int) -> Worker:
    return get_object_or_404(with_opt_out(_pool(request.user)), pk=worker_id)


def _reader_zone() -> str:
    """The reader's clock (their franchise's, HQ's for HQ), set by UserLocaleMiddleware."""
    return timezone.get_current_timezone_name()


# --- Search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchPoint:
    point: GeoPoint
    label: str
    radius_km: float


def _search_point(form: WorkerSearchForm) -> SearchPoint | None:
    """Where to search around: the typed place, placed by the geocoding service, or the chosen
    site. A place the service cannot place is an error next to it."""
    data = form.cleaned_data
    radius = data.get("radius_km") or DEFAULT_RADIUS_KM
    site = data.get("site")
    if site is not None:
        if site.lat is None or site.lng is None:
            form.add_error("site", _("This site has no point on the map."))
            return None
        return SearchPoint(GeoPoint(site.lat, site.lng), site.address, radius)
    place = data.get("place")
    if not place:
        return None
    try:
        point = address_geocode(address=place)
    except ValidationError as exc:
        form.add_error("place", address_errors(exc))
        return None
    return SearchPoint(point, place, radius)


def _search_rows(page: Page) -> None:
    for worker in page.object_list:
        worker.status_label = STATUS_LABELS.get(worker.status, worker.status)
        worker.status_badge = STATUS_BADGES.get(worker.status, "")
        worker.skill_labels = _skills(worker)


@roles_required(HQ, FRANCHISE, RECRUITER)
def workers(request: SignedInRequest) -> HttpResponse:
    """Search the pool by name, phone, skill, status, rating and place, a page at a time."""
    # A recruiter's work is the pool, not the clients: no sites to search near.
    sites = (None if role_of(request.user) == RECRUITER
             else scope_queryset(Site.objects.all(), request.user))
    form = WorkerSearchForm(request.GET or None, sites=sites)
    context: dict[str, Any] = {"form": form, "page": None, "near": None}
    if form.is_bound and not form.is_valid():
        return render(request, "web/workers.html", context)
    data = form.cleaned_data if form.is_bound else {}
    near = _search_point(form) if form.is_bound else None
    if form.errors:
        return render(request, "web/workers.html", context)
    search = WorkerSearch(
        name=data.get("name", ""), phone=data.get("phone", ""), skill=data.get("skill", ""),
        status=data.get("status", ""), min_rating=data.get("min_rating"),
        near=near.point if near else None,
        radius_km=near.radius_km if near else DEFAULT_RADIUS_KM,
    )
    page = Paginator(workers_search(_pool(request.user), search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    _search_rows(page)
    query = request.GET.copy()
    query.pop("page", None)
    context.update(page=page, near=near, query=query.urlencode())
    return render(request, "web/workers.html", context)


# --- Profile -----------------------------------------------------------------------------------


def _x_labels(moments: list[datetime], zone: str) -> list[tuple[float, str]]:
    """Four dates under a chart's x axis, spread over its time span and kept off its ends
    (a centred label at the very end would be cut off)."""
    if not moments:
        return []
    first, last = moments[0], moments[-1]
    labels = []
    for share in (0.1, 0.37, 0.63, 0.9):
        moment = first + (last - first) * share
        when = local_time(moment, zone)
        year = f" {when.local_date.year}" if last.year != first.year else ""
        labels.append((moment.timestamp(), when.day + year))
    return labels


def _charts(points: list[Any], zone: str) -> tuple[str, str]:
    """Rating and reliability over time, each event a step (its drop is made at once),
    straight lines between events where penalties fade back."""
    rating: list[tuple[float, float]] = []
    reliability: list[tuple[float, float]] = []
    for point in points:
        x = point.at.timestamp()
        if point.rating_before != point.rating:
            rating.append((x, point.rating_before))
        rating.append((x, point.rating))
        if point.reliability_before != point.reliability:
            reliability.append((x, point.reliability_before))
        reliability.append((x, point.reliability))
    labels = _x_labels([point.at for point in points], zone)
    rating_svg = charts.line_chart(
        [charts.Series(_("Rating"), rating, "series-a")], title=_("Rating over time (0-5)"),
        y_range=(0.0, 5.0), x_labels=labels,
    )
    reliability_svg = charts.line_chart(
        [charts.Series(_("Reliability"), reliability, "series-b")],
        title=_("Reliability over time (0-1)"), y_range=(0.0, 1.0), x_labels=labels,
    )
    return rating_svg, reliability_svg


def _when(moment: datetime | None, zone: str) -> LocalTime | None:
    return local_time(moment, zone) if moment is not None else None


ATTENDANCE_WORDS: "dict[str, StrOrPromise]" = {
    Offer.Attendance.PRESENT: gettext_lazy("present"),
    Offer.Attendance.LATE: gettext_lazy("late"),
    Offer.Attendance.NO_SHOW: gettext_lazy("no-show"),
}
# The notes dispatch writes on rating events (dispatch.event_notes), in the reader's language;
# any other note (typed by a person) is shown as written.
NOTE_SENTENCES: "dict[Note, StrOrPromise]" = {
    Note.NO_SHOW: gettext_lazy("no-show on %(code)s"),
    Note.WITHDREW: gettext_lazy("withdrew from %(code)s"),
    Note.ATTENDANCE_CORRECTION: gettext_lazy("%(status)s on %(code)s (a correction)"),
    Note.ATTENDANCE: gettext_lazy("%(status)s on %(code)s"),
    Note.CORRECTED: gettext_lazy("corrected to %(status)s"),
    Note.REVERSED_ON_APPEAL: gettext_lazy("reversed on appeal"),
    Note.SCORE_REPLACED: gettext_lazy("replaced by the %(source)s's score %(score)s"),
    Note.SCORE: gettext_lazy("%(source)s's score on %(code)s"),
}


def note_shown(note: str) -> str:
    """A rating event's note as the reader reads it: dispatch's own notes translated, a
    person's note as typed."""
    found = note_read(note)
    if found is None:
        return note
    parts = dict(found.blanks)
    if "status" in parts:
        parts["status"] = str(ATTENDANCE_WORDS[parts["status"]])
    if "source" in parts:
        parts["source"] = str(SOURCE_LABELS[parts["source"]])
    return str(NOTE_SENTENCES[found.note]) % parts


def _events(worker: Worker, user: Any, history: Any, zone: str) -> list[dict[str, Any]]:
    events = rating_events_latest(worker, limit=EVENTS_SHOWN)
    codes = order_codes_readable(
        (event.order_ref for event in events if event.order_ref is not None), user=user
    )
    rows = []
    for event in events:
        figures = history.after_event.get(event.id)
        rows.append({
            "id": event.id,
            "kind": event.kind,
            "label": EVENT_LABELS.get(event.kind, event.kind),
            "score": event.score,
            "source": SOURCE_LABELS.get(event.source, event.source),
            "at": local_time(event.at, zone),
            "has_order": event.order_ref is not None,
            "order_code": codes.get(event.order_ref) if event.order_ref is not None else None,
            # Notes name the order ("no-show on K7Q"): not another franchise's.
            "note": (note_shown(event.note)
                     if event.order_ref is None or event.order_ref in codes else ""),
            "reversed": event.reversed_at is not None,
            "figures": figures,
        })
    return rows


def _offers(worker: Worker, user: Any) -> tuple[list[dict[str, Any]], int]:
    offers, total = offers_of_worker(worker, user=user, limit=OFFERS_SHOWN)
    rows = [{
        "offer": offer,
        "start": local_time(offer.start, offer.zone),
        "work_type": SKILL_LABELS.get(offer.work_type, offer.work_type),
        "response": RESPONSE_LABELS.get(offer.response, "") if offer.response else "",
        "state": STATE_LABELS.get(offer.state, offer.state),
        "attendance": ATTENDANCE_LABELS.get(offer.attendance, "") if offer.attendance else "",
    } for offer in offers]
    return rows, total


def _appeals(worker: Worker, user: Any, forms: dict[int, AppealDecisionForm],
             zone: str) -> list[dict[str, Any]]:
    return [{
        "appeal": appeal,
        "status": APPEAL_LABELS.get(appeal.status, appeal.status),
        "start": local_time(appeal.start, appeal.zone),
        "created": local_time(appeal.created_at, zone),
        "decided": _when(appeal.decided_at, zone),
        "form": forms.get(appeal.id) or AppealDecisionForm(prefix=f"appeal-{appeal.id}"),
    } for appeal in appeals_of_worker(worker, user=user)]


def _interviewer(interview: Interview, user: Any) -> str:
    """Who held an interview: their login for HQ and their own office, "another office"
    otherwise (as `GET workers/{id}/interviews/` says)."""
    recruiter = interview.recruiter
    if recruiter is None:
        return ""
    if user.is_hq or (recruiter.franchise_id is not None
                      and recruiter.franchise_id == user.franchise_id):
        return recruiter.username
    return _("another office")


def _interviews(worker: Worker, user: Any, zone: str) -> list[dict[str, Any]]:
    interviews = worker.interviews.select_related("recruiter").order_by("-at", "-id")
    return [{
        "interview": interview,
        "outcome": OUTCOME_LABELS.get(interview.outcome, interview.outcome),
        "at": local_time(interview.at, zone),
        "who": _interviewer(interview, user),
    } for interview in interviews[:INTERVIEWS_SHOWN]]


def _profile(request: HttpRequest, worker: Worker, *, interview_form: InterviewForm | None = None,
             photo_form: PhotoForm | None = None,
             appeal_forms: dict[int, AppealDecisionForm] | None = None,
             refused: dict[str, str] | None = None) -> HttpResponse:
    """The profile page; `refused` carries a refusal of who may change the worker
    (`interview` or `photo`: its message), answered 403 with the page around it."""
    refused = refused or {}
    zone = _reader_zone()
    now = clock.now()
    history = rating_history(worker, until=now)
    rating_svg, reliability_svg = _charts(history.points, zone)
    offers, offers_total = _offers(worker, request.user)
    role = role_of(request.user)
    changeable = changeable_fields(request.user, worker)
    return render(request, "web/worker.html", {
        "worker": worker,
        "status_label": STATUS_LABELS.get(worker.status, worker.status),
        "status_badge": STATUS_BADGES.get(worker.status, ""),
        "skill_labels": _skills(worker),
        "created": local_time(worker.created_at, zone),
        "vetted": _when(worker.vetted_at, zone),
        # The charts are built from numbers and escaped labels only (web/charts.py).
        "rating_chart": mark_safe(rating_svg),
        "reliability_chart": mark_safe(reliability_svg),
        "events": _events(worker, request.user, history, zone),
        "offers": offers,
        "offers_total": offers_total,
        "appeals": _appeals(worker, request.user, appeal_forms or {}, zone),
        "interviews": _interviews(worker, request.user, zone),
        "may_interview": may_interview(request.user, worker),
        "may_change_profile": "photo" in changeable,
        "may_edit": bool(changeable & EDITABLE),
        "interview_refused": refused.get("interview", ""),
        "photo_refused": refused.get("photo", ""),
        "interview_form": interview_form or InterviewForm(),
        "photo_form": photo_form or PhotoForm(),
        "may_decide_appeals": role in (HQ, FRANCHISE),
        "zone_label": local_time(now, zone).zone,
        "this_year": local_time(now, zone).local_date.year,
    }, status=403 if refused else 200)


@roles_required(HQ, FRANCHISE, RECRUITER)
def worker(request: SignedInRequest, worker_id: int) -> HttpResponse:
    """A worker's profile: contacts and photo, rating and reliability over time, rating events,
    offers, appeals and interviews."""
    return _profile(request, _worker_or_404(request, worker_id))


# What the edit page offers: the profile fields a form can keep (the photo has its own form,
# the home point is placed on the map) and the notes.
EDITABLE = frozenset(WorkerEditForm.base_fields)


@roles_required(HQ, FRANCHISE, RECRUITER)
def worker_edit(request: SignedInRequest, worker_id: int) -> HttpResponse:
    """Change a worker's name, phone, skills, language of texts and notes, as
    `PATCH workers/{id}/` does and under the same rules (`workers.access`): the fields the
    login may not change are not on the form, and a login that may change none is refused."""
    worker = _worker_or_404(request, worker_id)
    allowed = changeable_fields(request.user, worker) & EDITABLE
    if not allowed:
        return forbidden(request, _(
            "Only HQ, the office that recruited this worker or an office they have worked for "
            "may change them."))
    initial = {field: getattr(worker, field) for field in allowed}
    form = WorkerEditForm(request.POST or None, initial=initial, fields=allowed)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in allowed
                   if form.cleaned_data[field] != initial[field]}
        try:
            worker_update(worker=worker, changed_by=request.user, **changes)
        except ValidationError as exc:
            worker.refresh_from_db()  # the page shows the worker as stored, not as typed
            _field_errors(form, exc, None)
        else:
            if changes:
                messages.success(request, _("%(name)s: changes saved.") % {"name": worker.name})
            return _back_to(worker, "contacts")
    return render(request, "web/worker_edit.html", {
        "worker": worker, "form": form, "notes_only": allowed == {"notes"},
    }, status=400 if form.errors else 200)


def _field_errors(form: Any, exc: ValidationError, default_field: str | None) -> None:
    """A service's refusal onto the form: its fields where the form has them, else next to
    `default_field` (None: above the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(default_field, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else default_field, errors)


def _back_to(worker: Worker, anchor: str) -> HttpResponse:
    return redirect(reverse("web:worker", args=[worker.pk]) + f"#{anchor}")


@require_POST
@roles_required(HQ, FRANCHISE, RECRUITER)
def worker_interview_record(request: SignedInRequest, worker_id: int) -> HttpResponse:
    """Record an interview, as `POST workers/{id}/interview/` does: passing makes an applicant
    (or a suspended worker under review) active."""
    worker = _worker_or_404(request, worker_id)
    form = InterviewForm(request.POST)
    if form.is_valid():
        try:
            worker_interview(worker=worker, outcome=form.cleaned_data["outcome"],
                             recruiter=request.user, notes=form.cleaned_data["notes"])
        except PermissionDenied as exc:
            return _profile(request, worker, interview_form=form,
                            refused={"interview": str(exc)})
        except ValidationError as exc:
            _field_errors(form, exc, "outcome")
        else:
            worker.refresh_from_db()
            messages.success(request, _("Interview recorded: %(name)s is now %(status)s.") % {
                "name": worker.name,
                "status": str(STATUS_LABELS.get(worker.status, worker.status)).lower(),
            })
            return _back_to(worker, "interviews")
    return _profile(request, worker, interview_form=form)


@require_POST
@roles_required(HQ, FRANCHISE, RECRUITER)
def worker_photo_upload(request: SignedInRequest, worker_id: int) -> HttpResponse:
    """Upload (or remove) the worker's photo; the service checks what the file really is."""
    worker = _worker_or_404(request, worker_id)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        photo = None if form.cleaned_data["remove"] else form.cleaned_data["photo"]
        try:
            worker_update(worker=worker, photo=photo, changed_by=request.user)
        except PermissionDenied as exc:
            return _profile(request, worker, photo_form=form, refused={"photo": str(exc)})
        except ValidationError as exc:
            _field_errors(form, exc, "photo")
        else:
            messages.success(request, _("Photo saved.") if photo else _("Photo removed."))
            return _back_to(worker, "photo")
    return _profile(request, worker, photo_form=form)


@require_POST
@roles_required(HQ, FRANCHISE)
def worker_appeal_decide(request: SignedInRequest, worker_id: int, appeal_id: int) -> HttpResponse:
    """Uphold or reverse a no-show the worker appealed, as `POST appeals/{id}/decide/` does:
    only an appeal on an order in the caller's scope."""
    worker = _worker_or_404(request, worker_id)
    appeal = get_object_or_404(
        scope_queryset(Appeal.objects.filter(offer__worker=worker), request.user), pk=appeal_id
    )
    form = AppealDecisionForm(request.POST, prefix=f"appeal-{appeal.pk}")
    if form.is_valid():
        reverse_it = form.cleaned_data["decision"] == "reverse"
        try:
            appeal_decide(appeal=appeal, reverse=reverse_it, decided_by=request.user,
                          notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            _field_errors(form, exc, "decision")
        else:
            messages.success(request, _("No-show reversed: the rating is restated.")
                             if reverse_it else _("No-show upheld."))
            return _back_to(worker, f"appeal-{appeal.pk}")
    return _profile(request, worker, appeal_forms={appeal.pk: form})


@roles_required(HQ, FRANCHISE, RECRUITER, FOREMAN)
def worker_photo(request: SignedInRequest, worker_id: int) -> HttpResponseBase:
    """The worker's photo (`?size=thumb`: a small one) for staff who may see the worker; a
    foreman only for a worker on one of his crews. A photo of a person is personal data: it
    is never a public media file."""
    worker = get_object_or_404(_pool(request.user), pk=worker_id)
    if role_of(request.user) == FOREMAN and not scope_queryset(
        Offer.objects.filter(worker=worker, state__in=CREW_STATES), request.user
    ).exists():
        raise Http404
    if not worker.photo:
        raise Http404
    try:
        if request.GET.get("size") == "thumb":
            response: HttpResponseBase = HttpResponse(photo_thumbnail(worker.photo),
                                                      content_type="image/jpeg")
        else:
            response = FileResponse(worker.photo.open("rb"), content_type="image/jpeg")
    except OSError as exc:  # the file is gone from storage
        raise Http404 from exc
    response["Cache-Control"] = "private, max-age=300"
    return response
