"""The user's language and clock for every page.

Language: the one the user chose in the menu (kept on their login), else the browser's
(Django's LocaleMiddleware has already read Accept-Language and the language cookie).
Clock: a franchise login reads its franchise's local time; HQ reads HQ's. Pages that mix
cities (the board, the network view) name each time's zone explicitly.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from franchises.models import Franchise


class UserLocaleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            zone = user.franchise.timezone if user.franchise_id else Franchise.hq_timezone()
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
