from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Interview, Worker


class InterviewInline(admin.TabularInline):
    model = Interview
    extra = 0
    readonly_fields = ("recruiter", "outcome", "notes", "imported", "at")
    can_delete = False


@admin.register(Worker)
class WorkerAdmin(SimpleHistoryAdmin):
    list_display = (
        "name", "phone", "status", "rating", "reliability", "shifts_completed", "no_shows",
    )
    list_filter = ("status", "language")
    search_fields = ("name", "phone")
    readonly_fields = ("rating", "reliability", "shifts_completed", "no_shows", "rating_state",
                       "vetted_at")
    inlines = [InterviewInline]
