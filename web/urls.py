from django.urls import path

from . import crew, views

app_name = "web"

urlpatterns = [
    path("", views.landing, name="home"),
    path("language/", views.language, name="language"),
    path("board/", views.board, name="board"),
    path("recruit/", views.intake, name="intake"),
    path("ratings/rules/", views.rating_rules, name="rating-rules"),
    path("phone/", views.phone_simulator, name="phone"),
    path("crew/", crew.crew_orders, name="crew"),
    path("crew/<int:order_id>/", crew.crew_order, name="crew-order"),
]
