# Batch.key (deterministic builder/import key, unique when set) and GoldLabel (researcher-marked gold).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0002_initial"),
        ("tasks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="key",
            field=models.CharField(
                blank=True,
                help_text="Deterministic key of the builder inputs (or imported file): re-running never duplicates",
                max_length=64,
            ),
        ),
        migrations.AddConstraint(
            model_name="batch",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True), fields=("key",), name="unique_batch_key"
            ),
        ),
        migrations.CreateModel(
            name="GoldLabel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "is_positive",
                    models.BooleanField(help_text="True: the image contains the class; False: it does not"),
                ),
                ("note", models.CharField(blank=True, max_length=200)),
                (
                    "image",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="annotation.image"
                    ),
                ),
                (
                    "label",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="annotation.labelclass"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("image", "label"), name="unique_gold_label")
                ],
            },
        ),
    ]
