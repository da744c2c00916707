"""Writes on the worker pool: joining, vetting, profile changes."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import clock

from .access import worker_change_check, worker_interview_check
from .models import Interview, Worker
from .photos import photo_prepared

# Fields a caller may change with worker_update; rating figures belong to the ratings app
# and status changes go through interviews and suspension rules.
EDITABLE_FIELDS = frozenset({"name", "phone", "lat", "lng", "home_area", "skills", "language",
                             "notes", "photo"})


def _check_home_point(worker: Worker) -> None:
    if (worker.lat is None) != (worker.lng is None):
        field = "lng" if worker.lng is None else "lat"
        raise ValidationError({field: [_("Give both lat and lng of the home, or neither.")]})


@transaction.atomic
def worker_create(
    *,
    name: str,
    phone: Any,
    skills: list[str] | None = None,
    lat: float | None = None,
    lng: float | None = None,
    language: str = Worker.Language.RU,
    home_area: str = "",
    notes: str = "",
    status: str = Worker.Status.APPLICANT,
    created_by: Any = None,
    photo: Any = None,
) -> Worker:
    """Add a person to the pool.

    New people are applicants until a recruiter's interview passes them. An HQ user may
    import an already vetted worker as `active`; that import is recorded as a vetting by them.
    """
    if status not in (Worker.Status.APPLICANT, Worker.Status.ACTIVE):
        raise ValidationError({"status": [_("A new worker is an applicant or, imported, active.")]})
    if status == Worker.Status.ACTIVE and not (created_by is not None and created_by.is_hq):
        raise ValidationError(
            {"status": [_("Only HQ may add an active worker; others start as applicants.")]}
        )
    now = clock.now()
    worker = Worker(
        recruited_by_id=getattr(created_by, "franchise_id", None),
        name=name.strip(),
        phone=phone,
        skills=skills or [],
        lat=lat,
        lng=lng,
        language=language,
        home_area=home_area,
        notes=notes,
        status=status,
        vetted_at=now if status == Worker.Status.ACTIVE else None,
    )
    if photo:
        worker.photo = photo_prepared(photo)
    _check_home_point(worker)
    worker.full_clean()
    worker.save()
    if status == Worker.Status.ACTIVE:
        Interview.objects.create(
            worker=worker,
            recruiter=created_by,
            outcome=Interview.Outcome.PASSED,
            notes="Imported as an already vetted worker.",
            imported=True,
            at=now,
        )
    return worker


@transaction.atomic
def worker_update(*, worker: Worker, changed_by: Any = None, **changes: Any) -> Worker:
    """Change a worker's profile. A new `photo` is checked and stored re-encoded
    (`photos.photo_prepared`); an empty one removes it. The replaced file is deleted.

    `changed_by`: the login making the change, held to `workers.access` (PermissionDenied
    outside its reach); None for the system's own changes (imports, the demo)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {field: [_("This field cannot be changed here.")] for field in unknown}
        )
    if changed_by is not None:
        changed = {field for field, value in changes.items()
                   if field == "photo" or getattr(worker, field) != value}
        worker_change_check(user=changed_by, worker=worker, fields=changed)
    replaced = None
    fields = list(changes)
    if "photo" in changes:
        replaced = worker.photo.name or None
        photo = changes.pop("photo")
        worker.photo = photo_prepared(photo) if photo else ""
    for field, value in changes.items():
        setattr(worker, field, value)
    _check_home_point(worker)
    worker.full_clean()
    # Only the changed fields: a no-show recorded meanwhile keeps its drop in the rating.
    worker.save(update_fields=fields)
    if replaced and replaced != worker.photo.name:
        # A photo of a person is personal data: the old one goes once the new one is saved.
        storage = worker.photo.storage
        transaction.on_commit(lambda: storage.delete(replaced))
    return worker


@transaction.atomic
def worker_interview(*, worker: Worker, outcome: str, recruiter: Any, notes: str = "") -> Interview:
    """Record a recruiter's interview; passing makes an applicant (or, by HQ, a suspended
    worker under review) active. `recruiter` is held to `workers.access` (PermissionDenied
    outside their reach); the first interview of an applicant nobody recruited makes the
    interviewer's franchise the recruiter."""
    if outcome not in Interview.Outcome.values:
        raise ValidationError({"outcome": [_("Choose one of %(choices)s.")
                                           % {"choices": Interview.Outcome.values}]})
    worker = Worker.objects.select_for_update().get(pk=worker.pk)
    if recruiter is not None:
        worker_interview_check(user=recruiter, worker=worker, outcome=outcome)
        if worker.recruited_by_id is None and getattr(recruiter, "franchise_id", None):
            worker.recruited_by_id = recruiter.franchise_id
            worker.save(update_fields=["recruited_by"])
    if worker.status == Worker.Status.BLOCKED:
        raise ValidationError({"outcome": [_("This worker is blocked and cannot be re-vetted.")]})
    now = clock.now()
    interview = Interview.objects.create(
        worker=worker, recruiter=recruiter, outcome=outcome, notes=notes, at=now
    )
    if outcome == Interview.Outcome.PASSED:
        worker.vetted_at = now
        # Passing makes an applicant active, and reinstates a suspended worker after the
        # recruiter's review; their history (ratings, no-shows) stays as it was.
        if worker.status in (Worker.Status.APPLICANT, Worker.Status.SUSPENDED):
            worker.status = Worker.Status.ACTIVE
            worker.suspension_cause = ""
        worker.save(update_fields=["vetted_at", "status", "suspension_cause"])
    return interview
