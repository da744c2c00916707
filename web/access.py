"""Who may open which page, and where each role lands.

The pages are scoped exactly as the API is (franchises.scoping): this module only decides
whether a role has any business on a page at all. A page a role may not use answers 403
with a page that says so; objects outside the caller's scope answer 404, as in the API.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from franchises.models import Franchise, User

HQ = User.Role.HQ
FRANCHISE = User.Role.FRANCHISE
FOREMAN = User.Role.FOREMAN
RECRUITER = User.Role.RECRUITER

# Where each role's work is: the first page after logging in.
LANDING: dict[str, str] = {
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


class SignedInRequest(HttpRequest):
    """What a view behind `roles_required` is given: a request whose user is signed in (the
    type checker's view of it; at run time it is the same HttpRequest)."""

    user: User


View = Callable[..., HttpResponseBase]


def roles_required(*roles: str) -> Callable[[View], View]:
    """Log in first; then only these roles (HQ always counts as HQ)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allowed(request.user, roles):
                return forbidden(request, _("This page is not part of your role's work."))
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate


def own_franchise(user: User) -> Franchise:
    """A franchise login's franchise; a login of a franchise role that has none is refused."""
    if user.franchise is None:
        raise PermissionDenied("This login belongs to no franchise.")
    return user.franchise


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "web/forbidden.html", {"reason": reason}, status=403)
