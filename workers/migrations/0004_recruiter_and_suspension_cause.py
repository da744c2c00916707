# Joins two branches of the schema: the recruiting office and the suspension's cause.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('workers', '0003_worker_recruited_by'),
        ('workers', '0003_worker_suspension_cause'),
    ]

    operations = [
    ]
