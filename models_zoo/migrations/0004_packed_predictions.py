"""Prediction labels and probabilities: from jsonb / JSON text to packed big-endian numbers.

Every existing row is converted: in one UPDATE on PostgreSQL (its int4send / float8send write the
same bytes as numpy's '>i4' / '>f8'), in batches through the ORM elsewhere. Reversible.
"""

from django.db import migrations, models

import relabel.fields

BATCH = 2_000

# A jsonb array of numbers as the concatenated binary form of each element (empty array: no bytes).
PACK_SQL = """
UPDATE models_zoo_prediction SET
    labels_packed = coalesce((SELECT string_agg(int4send(e.value::int4), ''::bytea ORDER BY e.n)
                              FROM jsonb_array_elements_text(labels) WITH ORDINALITY AS e(value, n)), ''::bytea),
    probs_packed = coalesce((SELECT string_agg(float8send(e.value::float8), ''::bytea ORDER BY e.n)
                             FROM jsonb_array_elements_text(probs) WITH ORDINALITY AS e(value, n)), ''::bytea)
"""


def pack(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PACK_SQL)
        return
    copy_columns(apps, ("labels", "probs"), ("labels_packed", "probs_packed"))


def unpack(apps, schema_editor):
    copy_columns(apps, ("labels_packed", "probs_packed"), ("labels", "probs"))


def copy_columns(apps, sources: tuple[str, str], targets: tuple[str, str]) -> None:
    """Copy the lists held in `sources` into `targets`, each field converting on its own terms."""
    prediction = apps.get_model("models_zoo", "Prediction")
    ids = list(prediction.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        rows = list(prediction.objects.filter(pk__in=ids[start:start + BATCH]).only("pk", *sources))
        for row in rows:
            for source, target in zip(sources, targets, strict=True):
                setattr(row, target, getattr(row, source))
        prediction.objects.bulk_update(rows, targets)


class Migration(migrations.Migration):

    dependencies = [
        ('models_zoo', '0003_prediction_origin'),
    ]

    operations = [
        migrations.AddField(
            model_name='prediction',
            name='labels_packed',
            field=relabel.fields.PackedArrayField(default=b'', dtype='>i4', help_text='Top-k taxonomy indices, best first'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='prediction',
            name='probs_packed',
            field=relabel.fields.PackedArrayField(default=b'', dtype='>f8', help_text='Softmax probabilities matching `labels` (empty when imported without)'),
            preserve_default=False,
        ),
        # Nullable until removed, so that migrating back can add them again to a table with rows.
        migrations.AlterField(
            model_name='prediction',
            name='labels',
            field=models.JSONField(help_text='Top-k taxonomy indices, best first', null=True),
        ),
        migrations.AlterField(
            model_name='prediction',
            name='probs',
            field=models.JSONField(help_text='Softmax probabilities matching `labels` (empty when imported without)', null=True),
        ),
        migrations.RunPython(pack, unpack),
        migrations.RemoveField(model_name='prediction', name='labels'),
        migrations.RemoveField(model_name='prediction', name='probs'),
        migrations.RenameField(model_name='prediction', old_name='labels_packed', new_name='labels'),
        migrations.RenameField(model_name='prediction', old_name='probs_packed', new_name='probs'),
    ]
