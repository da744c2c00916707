from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Offer, Order


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    raw_id_fields = ("worker",)
    readonly_fields = ("token",)


@admin.register(Order)
class OrderAdmin(SimpleHistoryAdmin):
    list_display = ("code", "client", "franchise", "work_type", "headcount", "booking_target",
                    "start", "status")
    list_filter = ("status", "work_type", "franchise", "overbook_policy")
    search_fields = ("code", "client__name", "site__address")
    raw_id_fields = ("client", "site", "lead", "foreman", "created_by")
    list_select_related = ("client", "franchise")
    inlines = [OfferInline]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("order", "worker", "wave", "response", "state", "attendance", "sent_at")
    list_filter = ("state", "response", "attendance")
    raw_id_fields = ("order", "worker")
    list_select_related = ("order", "worker")
