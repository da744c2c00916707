"""Who may open which page, and where each role lands.

The pages are scoped exactly as the API is (franchises.scoping): this module only decides
whether a role has any business on a page at all. A page a role may not use answers 403
with a page that says so; objects outside the caller's scope answer 404, as in the API.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from franchises.models import User

HQ = User.Role.HQ
FRANCHISE = User.Role.FRANCHISE
FOREMAN = User.Role.FOREMAN
RECRUITER = User.Role.RECRUITER

# Where each role's work is: the first page after logging in.
LANDING = {
    HQ: "web:board",
    FRANCHISE: "web:dashboard",
    FOREMAN: "web:crew",
    RECRUITER: "web:intake",
}


def role_of(user: Any) -> str:
    """The role a page sees: a superuser is HQ whatever the row says."""
    return HQ if user.is_hq else user.role


def allowed(user: Any, roles: tuple[str, ...]) -> bool:
    return bool(user.is_authenticated) and role_of(user) in roles


View = Callable[..., HttpResponse]


def roles_required(*roles: str) -> Callable[[View], View]:
    """Log in first; then only these roles (HQ always counts as HQ)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request.user, roles):
                return forbidden(request, _("This page is not part of your role's work."))
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "web/forbidden.html", {"reason": reason}, status=403)
