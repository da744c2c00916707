from django.urls import path

from . import board, crew, order_intake, views

app_name = "web"

urlpatterns = [
    path("", views.landing, name="home"),
    path("language/", views.language, name="language"),
    path("orders/new/", order_intake.intake_order, name="intake-order"),
    path("orders/new/client/", order_intake.intake_order_client, name="intake-order-client"),
    path("orders/new/place/", order_intake.intake_order_place, name="intake-order-place"),
    path("orders/new/quote/", order_intake.intake_order_quote, name="intake-order-quote"),
    path("board/", board.board, name="board"),
    path("board/rows/", board.board_rows, name="board-rows"),
    path("board/<int:order_id>/cancel/", board.board_cancel, name="board-cancel"),
    path("board/<int:order_id>/<slug:action>/", board.board_action, name="board-action"),
    path("recruit/", views.intake, name="intake"),
    path("ratings/rules/", views.rating_rules, name="rating-rules"),
    path("phone/", views.phone_simulator, name="phone"),
    path("crew/", crew.crew_orders, name="crew"),
    path("crew/<int:order_id>/", crew.crew_order, name="crew-order"),
]
