from typing import Any

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
                       "vetted_at", "suspension_cause")
    inlines = [InterviewInline]

    def save_model(self, request: Any, obj: Worker, form: Any, change: bool) -> None:
        # A status set here is a person's decision: a suspension the no-show rule had set is
        # no longer the rule's to lift.
        if "status" in form.changed_data:
            obj.suspension_cause = ""
        super().save_model(request, obj, form, change)
