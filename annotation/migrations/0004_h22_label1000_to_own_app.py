from django.db import migrations


class Migration(migrations.Migration):
    """The 1000-way study's models move to the label1000 app (its first migration creates them there).

    State only: the tables keep their names (label1000's models set db_table), so no row is copied.
    """

    dependencies = [
        ("annotation", "0003_label1000"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ErrorTag"),
                migrations.DeleteModel(name="Label1000Response"),
            ],
            database_operations=[],
        ),
    ]
