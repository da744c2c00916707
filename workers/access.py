"""Who may change a worker, and which of their fields.

The pool is shared: every login reads every worker. Changing one is narrower:

- HQ (and a superuser) may change anyone, every field.
- A franchise's logins (staff and recruiters) may change a worker their franchise recruited
  (`Worker.recruited_by`): the profile (name, phone, home point and area, skills, language,
  photo), notes and interviews.
- A franchise whose orders the worker has worked (accepted an offer of one of its orders; see
  `core.hooks.worker_worked_for`) may keep notes and record interviews, nothing else: the
  phone, the home and the skills are the recruiting office's to keep.
- An applicant nobody has recruited yet (joined by SMS) may be interviewed by any franchise:
  the pool needs its applicants vetted, and the first interview makes that franchise the
  recruiter.
- Status moves only through interviews and the suspension rules. A franchise's passed
  interview makes an applicant active; lifting a suspension (the no-show rule's or HQ's) is
  HQ's review, never a franchise's.
- A foreman changes no worker.

A refusal is `django.core.exceptions.PermissionDenied` with a message a person can act on; the
API answers it 403, the pages show it next to the form.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from core import hooks

from .models import Interview, Worker

# The recruiting office's (and HQ's): who the person is and where they live.
PROFILE_FIELDS = frozenset({"name", "phone", "lat", "lng", "home_area", "skills", "language",
                            "photo"})
# Any office the worker has worked for may keep these.
OFFICE_FIELDS = frozenset({"notes"})


def _is_hq(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_hq)


def recruited_by_caller(user: Any, worker: Worker) -> bool:
    return user.franchise_id is not None and worker.recruited_by_id == user.franchise_id


def worked_for_caller(user: Any, worker: Worker) -> bool:
    """Whether the worker accepted an offer of one of the caller's franchise's orders."""
    worked_for = hooks.worker_worked_for.get()
    if worked_for is None or user.franchise_id is None or worker.pk is None:
        return False
    return worked_for(worker.pk, user.franchise_id)


def changeable_fields(user: Any, worker: Worker) -> frozenset[str]:
    """The fields `user` may change on `worker` (empty: none)."""
    if _is_hq(user):
        return PROFILE_FIELDS | OFFICE_FIELDS
    if user is None or getattr(user, "role", None) not in ("franchise", "recruiter"):
        return frozenset()
    if recruited_by_caller(user, worker):
        return PROFILE_FIELDS | OFFICE_FIELDS
    if worked_for_caller(user, worker):
        return OFFICE_FIELDS
    return frozenset()


def worker_change_check(*, user: Any, worker: Worker, fields: set[str] | frozenset[str]) -> None:
    """Refuse (PermissionDenied) a change of `fields` on `worker` by `user` outside its reach."""
    if not fields:
        return
    allowed = changeable_fields(user, worker)
    if not allowed:
        raise PermissionDenied(_(
            "Only HQ, the office that recruited this worker or an office they have worked for "
            "may change them."))
    refused = sorted(set(fields) - allowed)
    if refused:
        raise PermissionDenied(_(
            "Only HQ or the office that recruited this worker may change %(fields)s; an office "
            "they have worked for may change the notes and record interviews.")
            % {"fields": ", ".join(refused)})


def may_interview(user: Any, worker: Worker) -> bool:
    """Whether `user` may record an interview of `worker` (whatever its outcome)."""
    if _is_hq(user):
        return True
    if user is None or getattr(user, "role", None) not in ("franchise", "recruiter"):
        return False
    if worker.status == Worker.Status.APPLICANT and worker.recruited_by_id is None:
        return True
    return bool(changeable_fields(user, worker))


def worker_interview_check(*, user: Any, worker: Worker, outcome: str) -> None:
    """Refuse (PermissionDenied) an interview `user` may not record: a worker outside their
    office's reach, or a passed review that would lift a suspension (HQ's)."""
    if _is_hq(user):
        return
    if not may_interview(user, worker):
        raise PermissionDenied(_(
            "Only HQ, the office that recruited this worker or an office they have worked for "
            "may interview them."))
    if worker.status == Worker.Status.SUSPENDED and outcome == Interview.Outcome.PASSED:
        raise PermissionDenied(_(
            "Only HQ may lift a suspension: the no-show rule's and HQ's suspensions are "
            "reviewed by HQ. A failed interview may still be recorded."))
