# Joins two branches of the schema: offers' quarter-hour hours and the steps' lease.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0007_offer_hours_to_the_quarter_hour'),
        ('dispatch', '0007_step_lease_and_missed'),
    ]

    operations = [
    ]
