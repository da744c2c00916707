"""API plumbing shared by every app: pagination, a JSON parser that cannot be crashed by
nesting, and an exception handler that turns data errors into 400s instead of 500s."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination, parsers, serializers
from rest_framework.response import Response


class Pagination(pagination.PageNumberPagination):
    """Pages of `page_size` rows (50 unless asked; more than 500 is read as 500).

    DRF would read a `page_size` that is not a positive whole number (`true`, `0`, empty)
    as the default; here it is a 400 naming the parameter, as any other bad input.
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Any) -> int | None:
        asked = request.query_params.get(self.page_size_query_param)
        if asked is not None and not (asked.isascii() and asked.isdigit() and int(asked) >= 1):
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("Give a whole number from 1 up.")]}
            )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page, from 1; more than {self.max_page_size} "
                    f"gives {self.max_page_size}."
                )
        return parameters


START_HELP = (
    "ISO 8601. With a UTC offset (`2026-03-02T08:00:00+03:00`, `...Z`) the moment as given; "
    "without one (`2026-03-02T08:00`) the local time of the franchise that serves it."
)


class WallClockDateTimeField(serializers.DateTimeField):
    """A start as the client said it on the phone.

    With a UTC offset it is taken as given. Without one it stays naive here, and the service
    reads it in the zone of the franchise that serves it (CONTRACT.md §4): DRF would read it
    in the server's zone, UTC, and an 08:00 start in Moscow would become 11:00 MSK.
    Answers still carry the moment in UTC, as every other time in the API.
    """

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            return value
        return super().enforce_timezone(value)


class SafeJSONParser(parsers.JSONParser):
    """JSON parser that answers deeply nested documents and non-text strings with a 400.

    Python's json module recurses once per nesting level; a few thousand levels raise
    RecursionError, which DRF would otherwise let through as a 500.

    JSON may spell a lone UTF-16 surrogate ("\\ud800"), which is no character at all: it
    cannot be encoded as UTF-8, so it would crash the database driver, PostgreSQL's jsonb, or
    the response itself when an error message repeats the value.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - document nested too deeply.") from exc
        if _holds_lone_surrogate(data):
            raise exceptions.ParseError(
                "JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff), "
                "which is not text."
            )
        return data


def _holds_lone_surrogate(data: Any) -> bool:
    """Whether any key or string in the parsed document cannot be encoded as UTF-8.

    Walks with an explicit stack: the document may be as deep as the parser allowed.
    """
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model-level validation, integrity and data errors as 400s."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this module,
    # so a module-level import breaks whenever this module is the first to load (manage.py check).
    from rest_framework.views import exception_handler as drf_exception_handler  # noqa: PLC0415

    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        exc = exceptions.ValidationError({"detail": [_("This conflicts with existing data.")]})
    elif isinstance(exc, DataError):
        # A value the database cannot hold (a number out of its column's range) that no
        # serializer bounded: the input is at fault, not the server.
        exc = exceptions.ValidationError(
            {"detail": [_("A value is out of the range the database can hold.")]}
        )
    return drf_exception_handler(exc, context)
