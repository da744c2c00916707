"""The one place that narrows what a caller may see.

Each scoped model names, as class attributes, the lookup from itself to its franchise
(`franchise_scope`) and to the foreman who runs it (`foreman_scope`). HQ sees everything,
a franchise user sees rows whose franchise is theirs, a foreman sees rows tied to their
own orders. A model with `franchise_scope = None` is shared by the whole network (the
worker pool). Anything outside a caller's scope simply is not in the queryset, so views
answer 404 for it, never 403.
"""

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def scope_queryset(queryset: QuerySet[M], user: Any) -> QuerySet[M]:  # noqa: PLR0911
    """Rows of `queryset` that `user` may see."""
    if user is None or not user.is_authenticated:
        return queryset.none()
    if user.is_hq:
        return queryset
    model = queryset.model
    # No franchise lookup (absent or None): the model is shared by the whole network.
    franchise_path: str | None = getattr(model, "franchise_scope", None)
    if franchise_path is None:
        return queryset
    if user.franchise_id is None:
        return queryset.none()
    if user.role == user.Role.RECRUITER:
        return queryset.none()  # the pool is shared; clients, orders and books are not theirs
    if user.role == user.Role.FOREMAN:
        foreman_path = getattr(model, "foreman_scope", None)
        if foreman_path is None:
            return queryset.none()
        return queryset.filter(**{foreman_path: user}).distinct()
    return queryset.filter(**{franchise_path: user.franchise_id})


def can_manage_network(user: Any) -> bool:
    """Creating franchises, importing vetted workers and the like are HQ's."""
    return bool(user and user.is_authenticated and user.is_hq)
