from django.urls import path

from . import books, crew, dashboard, network, views

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
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/crews/", dashboard.dashboard_crews, name="dashboard-crews"),
    path("dashboard/clients/<int:client_id>/lines/", dashboard.client_lines,
         name="client-lines"),
    path("statements/<int:statement_id>/", books.statement, name="statement"),
    path("credits/new/", books.credit_add, name="credit-add"),
    path("credits/<int:credit_id>/withdraw/", books.credit_withdraw_page,
         name="credit-withdraw"),
    path("books/", books.books, name="books"),
    path("network/", network.network, name="network"),
]
