from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from billing.api import (
    BenchmarkView,
    CreditViewSet,
    InvoiceLineViewSet,
    PayLineViewSet,
    QuoteView,
    RateCardViewSet,
    RoyaltyStatementViewSet,
)
from clients.api import ClientViewSet, SiteViewSet
from dispatch import channels
from dispatch.api import AppealViewSet, LeadViewSet, OrderViewSet
from franchises.api import FranchiseViewSet, TokenObtainView, TokenRevokeView
from messaging.api import MessageViewSet
from workers.api import WorkerViewSet

router = DefaultRouter()
router.register("franchises", FranchiseViewSet, basename="franchise")
router.register("clients", ClientViewSet, basename="client")
router.register("sites", SiteViewSet, basename="site")
router.register("leads", LeadViewSet, basename="lead")
router.register("workers", WorkerViewSet, basename="worker")
router.register("orders", OrderViewSet, basename="order")
router.register("messages", MessageViewSet, basename="message")
router.register("appeals", AppealViewSet, basename="appeal")
router.register("rate-cards", RateCardViewSet, basename="rate-card")
router.register("invoice-lines", InvoiceLineViewSet, basename="invoice-line")
router.register("pay-lines", PayLineViewSet, basename="pay-line")
router.register("credits", CreditViewSet, basename="credit")
router.register("royalty-statements", RoyaltyStatementViewSet, basename="royalty-statement")


def _needs_email(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A password-reset page that does not exist while no mail server is configured: it
    would promise a link that never arrives."""

    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.EMAIL_HOST:
            raise Http404("Password reset needs EMAIL_HOST.")
        return view(request, *args, **kwargs)

    return guarded


# Django's login, logout and password pages; the reset ones only with a mail server.
account_urls = [
    path(str(pattern.pattern), _needs_email(pattern.callback), name=pattern.name)
    if isinstance(pattern, URLPattern) and str(pattern.name).startswith("password_reset")
    else pattern
    for pattern in auth_urls.urlpatterns
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("api/v1/auth/logout/", TokenRevokeView.as_view(), name="api-logout"),
    path("api/v1/quotes/", QuoteView.as_view(), name="quote"),
    path("api/v1/reports/benchmark/", BenchmarkView.as_view(), name="benchmark"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script is served as a file of its own (`?script`), not inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("", include("messaging.urls")),
    path("webhooks/twilio/voice/", channels.voice_callback, name="twilio-voice"),
    path("o/<str:token>", channels.offer_page, name="offer-page"),
    path("accounts/", include(account_urls)),
    path("", include("web.urls")),
]
