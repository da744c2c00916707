"""Server-rendered pages for operators, franchisees and foremen."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dispatch.models import Order
from dispatch.selectors import orders_with_counts
from franchises.scoping import scope_queryset


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Today's board: the caller's open orders and how they fill."""
    orders = orders_with_counts(
        scope_queryset(Order.objects.select_related("client", "site", "franchise"), request.user)
        .filter(status__in=Order.OPEN_STATUSES)
        .order_by("start")
    )[:100]
    return render(request, "web/home.html", {"orders": orders})
