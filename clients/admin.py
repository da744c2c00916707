from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Client, GeocodeCache, Lead, LeadHop, Site


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Client)
class ClientAdmin(SimpleHistoryAdmin):
    list_display = ("name", "phone", "email", "franchise")
    list_filter = ("franchise",)
    search_fields = ("name", "phone", "email")
    inlines = [SiteInline]


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ("address", "client", "conditions", "lat", "lng")
    list_filter = ("conditions",)
    search_fields = ("address", "client__name")
    list_select_related = ("client",)


class LeadHopInline(admin.TabularInline):
    model = LeadHop
    extra = 0
    readonly_fields = ("franchise", "reason", "outcome", "offered_at", "answered_at")
    can_delete = False


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    list_display = ("id", "contact_name", "work_type", "headcount", "start", "status", "franchise")
    list_filter = ("status", "work_type", "franchise")
    search_fields = ("contact_name", "phone", "address")
    inlines = [LeadHopInline]


@admin.register(GeocodeCache)
class GeocodeCacheAdmin(admin.ModelAdmin):
    list_display = ("query", "source", "found", "lat", "lng", "created_at")
    search_fields = ("query",)
