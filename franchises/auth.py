"""Logins: API tokens that expire, the caller's address for the lock-out, and the page a
locked-out login sees.

Failed logins are counted by django-axes (settings, "Logins"): after LOGIN_FAILURE_LIMIT
failures for one username, or from one address, further attempts are refused for
LOGIN_COOLOFF_MINUTES, the right password included.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core import clock


def token_lifetime() -> timedelta:
    return timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_expires_at(token: Token) -> Any:
    return token.created + token_lifetime()


def token_expired(token: Token) -> bool:
    return clock.now() >= token_expires_at(token)


def issue_token(user: Any) -> Token:
    """The login's current token, or a fresh one when it has none or its time is up."""
    token = Token.objects.filter(user=user).first()
    if token is not None and token_expired(token):
        token.delete()
        token = None
    if token is None:
        token = Token.objects.create(user=user)
        # The model stamps `created` from the wall clock; the lifetime counts on the project's.
        Token.objects.filter(pk=token.pk).update(created=clock.now())
        token.refresh_from_db()
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token, refused once API_TOKEN_TTL_HOURS have passed since it was issued."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed(_("Token has expired; ask for a new one."))
        return user, token


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address for counting failed logins.

    Behind LOGIN_TRUSTED_PROXY_COUNT proxies, each of which appends the address it saw to
    X-Forwarded-For, the caller is that many entries from the right; anything further left
    is what the caller wrote and is not trusted. With no proxy, the socket's address.
    """
    proxies = settings.LOGIN_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    minutes = int(settings.LOGIN_COOLOFF_MINUTES)
    return _(
        "Too many failed logins. Logging in is locked for %(minutes)d minutes; "
        "try again later."
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The login page again, saying why it refuses, with 429 Too Many Requests."""
    username = request.POST.get("username", "") if request.method == "POST" else ""
    form = AuthenticationForm(request, initial={"username": username})
    # Not validated again: that would be one more failed attempt counted.
    # The form's error store, which Django keeps private and the stubs leave out.
    form._errors = ErrorDict()  # type: ignore[attr-defined]
    form.cleaned_data = {}
    form.add_error(None, lockout_message())
    response = render(
        request,
        "registration/login.html",
        {"form": form, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(int(settings.LOGIN_COOLOFF_MINUTES * 60))
    return response
