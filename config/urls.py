from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
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

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("api/v1/auth/logout/", TokenRevokeView.as_view(), name="api-logout"),
    path("api/v1/quotes/", QuoteView.as_view(), name="quote"),
    path("api/v1/reports/benchmark/", BenchmarkView.as_view(), name="benchmark"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("messaging.urls")),
    path("webhooks/twilio/voice/", channels.voice_callback, name="twilio-voice"),
    path("o/<str:token>", channels.offer_page, name="offer-page"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("web.urls")),
]
