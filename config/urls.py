from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from clients.api import ClientViewSet, LeadViewSet, SiteViewSet
from dispatch.api import AppealViewSet, OrderViewSet
from franchises.api import FranchiseViewSet, TokenObtainView
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

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("messaging.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("web.urls")),
]
