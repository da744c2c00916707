from django.contrib import admin

from .models import Message, OptOut


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "direction", "phone", "body", "status", "segments", "purpose")
    list_filter = ("direction", "status", "purpose", "encoding")
    search_fields = ("phone", "body", "provider_sid")
    raw_id_fields = ("worker", "order", "in_reply_to")
    date_hierarchy = "created_at"


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ("phone", "opted_out_at", "keyword")
    search_fields = ("phone",)
