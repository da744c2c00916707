from django.db import migrations, models

# What the ratings app wrote as the history row's change reason when its no-show rule
# suspended a worker; until this field existed, that text was the only record of the cause.
RULE_REASON = "suspended by the no-show rule"
NO_SHOW_RULE = "no_show_rule"


def cause_from_history(apps, schema_editor):
    """A worker suspended now keeps the rule as the cause when the history row that began
    the current suspension carries the rule's reason (the row after their last one in another
    status); any other suspension is a person's."""
    worker_model = apps.get_model("workers", "Worker")
    history = apps.get_model("workers", "HistoricalWorker")
    by_rule = []
    for worker_id in worker_model.objects.filter(status="suspended").values_list("id", flat=True):
        rows = history.objects.filter(id=worker_id)
        before = (
            rows.exclude(status="suspended").order_by("-history_id")
            .values_list("history_id", flat=True).first()
        )
        run = rows.filter(status="suspended")
        if before is not None:
            run = run.filter(history_id__gt=before)
        reason = run.order_by("history_id").values_list("history_change_reason", flat=True).first()
        if reason == RULE_REASON:
            by_rule.append(worker_id)
    worker_model.objects.filter(pk__in=by_rule).update(suspension_cause=NO_SHOW_RULE)


class Migration(migrations.Migration):
    dependencies = [("workers", "0002_worker_active_point_gist")]

    operations = [
        migrations.AddField(
            model_name="historicalworker",
            name="suspension_cause",
            field=models.CharField(
                blank=True, choices=[("no_show_rule", "The no-show rule")], default="",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="worker",
            name="suspension_cause",
            field=models.CharField(
                blank=True, choices=[("no_show_rule", "The no-show rule")], default="",
                max_length=20,
            ),
        ),
        migrations.RunPython(cause_from_history, migrations.RunPython.noop, elidable=False),
    ]
