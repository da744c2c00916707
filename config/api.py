"""API plumbing shared by every app: pagination, a JSON parser that cannot be crashed by
nesting, and an exception handler that turns data errors into 400s instead of 500s."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, pagination, parsers
from rest_framework.response import Response


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class SafeJSONParser(parsers.JSONParser):
    """JSON parser that answers deeply nested documents with a 400.

    Python's json module recurses once per nesting level; a few thousand levels raise
    RecursionError, which DRF would otherwise let through as a 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - document nested too deeply.") from exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model-level validation and integrity errors as 400s."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this module,
    # so a module-level import breaks whenever this module is the first to load (manage.py check).
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        exc = exceptions.ValidationError({"detail": ["This conflicts with existing data."]})
    return drf_exception_handler(exc, context)
