from django.db import migrations

# PostgreSQL only: a GiST index on each active worker's home as a geometric point, which finds
# the workers inside a call-out's latitude/longitude box without walking a whole latitude band
# of the B-tree `worker_status_point` (which other databases keep using).
CREATE = (
    "CREATE INDEX worker_active_point_gist ON workers_worker "
    "USING gist (point(lng, lat)) WHERE status = 'active'"
)
DROP = "DROP INDEX IF EXISTS worker_active_point_gist"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("workers", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
