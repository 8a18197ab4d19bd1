"""SelectionFrequency keyed by (image, label): one index instead of three, and no id sequence.

Django cannot turn an existing table's primary key into a composite one, so the table is
re-created: its rows are set aside in a plain table, the old table dropped, the new one created
(with the usual constraint names) and the rows copied back, all in the migration's transaction and
in portable SQL. Reversing does the same the other way (the rows get new ids).
"""

import django.db.models.deletion
from django.db import migrations, models

SF_TABLE = "analytics_selectionfrequency"
SET_ASIDE = "analytics_selectionfrequency_moving"
COLUMNS = "image_id, label_id, n_selected, n_shown"
SET_ROWS_ASIDE = f"CREATE TABLE {SET_ASIDE} AS SELECT {COLUMNS} FROM {SF_TABLE}"
RESTORE_ROWS = [f"INSERT INTO {SF_TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {SET_ASIDE}", f"DROP TABLE {SET_ASIDE}"]


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0006_job_heartbeat"),
        ("annotation", "0003_label1000"),
    ]

    operations = [
        migrations.RunSQL(SET_ROWS_ASIDE, RESTORE_ROWS),
        migrations.DeleteModel("SelectionFrequency"),
        migrations.CreateModel(
            name="SelectionFrequency",
            fields=[
                ("pk", models.CompositePrimaryKey("image", "label", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("image", models.ForeignKey(
                    db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                    related_name="selection_frequencies", to="annotation.image",
                )),
                ("label", models.ForeignKey(
                    db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT,
                    related_name="+", to="annotation.labelclass",
                )),
                ("n_selected", models.PositiveIntegerField()),
                ("n_shown", models.PositiveIntegerField()),
            ],
        ),
        migrations.RunSQL(RESTORE_ROWS, SET_ROWS_ASIDE),
    ]
