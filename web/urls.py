from django.urls import path

from . import crew, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("recruit/", views.intake, name="intake"),
    path("ratings/rules/", views.rating_rules, name="rating-rules"),
    path("phone/", views.phone_simulator, name="phone"),
    path("crew/", crew.crew_orders, name="crew"),
    path("crew/<int:order_id>/", crew.crew_order, name="crew-order"),
]
