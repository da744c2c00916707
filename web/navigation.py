"""The menu: each role sees only the pages it may use, in the order of its day."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .access import FOREMAN, FRANCHISE, HQ, RECRUITER, role_of


@dataclass(frozen=True)
class MenuItem:
    url_name: str
    label: str | Promise
    roles: tuple[str, ...]


MENU = (
    MenuItem("web:dashboard", _("Dashboard"), (FRANCHISE,)),
    MenuItem("web:board", _("Board"), (HQ, FRANCHISE)),
    MenuItem("web:leads", _("Leads"), (HQ, FRANCHISE)),
    MenuItem("web:intake-order", _("New order"), (HQ, FRANCHISE)),
    MenuItem("web:crew", _("Crews"), (FRANCHISE, FOREMAN)),
    MenuItem("web:network", _("Network"), (HQ,)),
    MenuItem("web:books", _("Books"), (HQ,)),
    MenuItem("web:intake", _("Recruit"), (HQ, FRANCHISE, RECRUITER)),
    MenuItem("web:workers", _("Workers"), (HQ, FRANCHISE, RECRUITER)),
    MenuItem("web:phone", _("Phone"), (HQ,)),
    MenuItem("web:rating-rules", _("Ratings"), (HQ, FRANCHISE, FOREMAN, RECRUITER)),
)


def menu(request: HttpRequest) -> dict[str, object]:
    """Context processor: the logged-in user's menu, the current page marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    role = role_of(user)
    items = []
    for item in MENU:
        if role not in item.roles:
            continue
        url = reverse(item.url_name)
        active = request.path == url or (url != "/" and request.path.startswith(url))
        items.append({"url": url, "label": item.label, "active": active})
    return {"menu": items, "console_role": role}
