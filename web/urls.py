from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("recruit/", views.intake, name="intake"),
    path("ratings/rules/", views.rating_rules, name="rating-rules"),
    path("phone/", views.phone_simulator, name="phone"),
]
