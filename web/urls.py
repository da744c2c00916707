from django.urls import path

from . import books, crew, dashboard, leads, network, order_page, views

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
    path("orders/<int:order_id>/", order_page.order_page, name="order"),
    path("orders/<int:order_id>/live/", order_page.order_live, name="order-live"),
    path("orders/<int:order_id>/cancel/", order_page.order_cancel_page, name="order-cancel"),
    path("orders/<int:order_id>/<slug:action>/", order_page.order_action, name="order-action"),
    path("leads/", leads.leads, name="leads"),
    path("leads/live/", leads.leads_live, name="leads-live"),
    path("leads/<int:lead_id>/", leads.lead_page, name="lead"),
    path("leads/<int:lead_id>/accept/", leads.lead_accept_view, name="lead-accept"),
    path("leads/<int:lead_id>/reject/", leads.lead_reject_view, name="lead-reject"),
    path("leads/<int:lead_id>/hand-on/", leads.lead_hand_on_view, name="lead-hand-on"),
]
