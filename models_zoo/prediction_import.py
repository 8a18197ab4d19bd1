"""Import any model's top-k predictions on a dataset from a file (formats in docs/formats.md).

JSON Lines (`{"image": ..., "labels": [...], "probs": [...]}`), CSV with the same columns (a cell
holds its labels or probabilities separated by spaces or semicolons, or as a JSON list), or a
`.npy` array of shape (N, k) of label indices with an order file naming the N images, one external
id per line. Labels are taxonomy indices or wnids; probabilities are optional.

The whole file is checked before anything is committed: a bad line makes the import fail with every
problem listed by line number (the first prediction_checks.MAX_ERRORS), and the stored predictions stay as they were.
A good file replaces the (dataset, model) predictions imported before, in one transaction, so a
re-import is idempotent. Predictions that ran here are never replaced by a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from annotation.models import Dataset, Image
from models_zoo.models import LABELS_DTYPE, PROBS_DTYPE, Prediction, PredictionOrigin
from models_zoo.prediction_checks import Block, Checker, Context
from models_zoo.prediction_files import PredictionImportError, read_csv, read_jsonl, read_npy
from relabel import pg_copy
from relabel.bulk import insert_ignoring_conflicts

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+@:-]{0,99}")
COLUMNS = ["image_id", "model_name", "model_version", "labels", "probs", "origin", "created_at"]


@dataclass
class ImportSummary:
    model: str
    images: int = 0
    replaced: int = 0
    topk: int = 0


def read_file(path: Path, checker: Checker, order: Path | None = None) -> None:
    """Check a predictions file of any supported format (by its suffix), block by block."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if order is None:
            raise PredictionImportError(f"{path}: a .npy file needs --order FILE (one external id per row)")
        read_npy(path, order, checker)
        return
    if order is not None:
        raise PredictionImportError("--order is only for .npy files: JSONL and CSV lines name their image")
    if suffix not in {".jsonl", ".json", ".csv"}:
        raise PredictionImportError(f"{path}: unknown format {suffix!r}; use .jsonl, .csv or .npy (with --order)")
    try:
        (read_csv if suffix == ".csv" else read_jsonl)(path, checker)
    except OSError as exc:
        raise PredictionImportError(f"cannot read {path}: {exc}") from exc


def import_predictions(
    dataset: Dataset, model_name: str, path: Path, order: Path | None = None, model_version: str = ""
) -> ImportSummary:
    """Replace the model's imported predictions on the dataset by the file's, if every line is good.

    One transaction: the earlier rows are deleted, then good blocks stream to the database while
    the file is read (PostgreSQL stores one block while Python checks the next); the first bad line
    stops the writing, the rest of the file is still checked for the report, and the transaction is
    rolled back, so nothing changes.
    """
    for what, value in (("model name", model_name), ("model version", model_version)):
        if value and not MODEL_NAME.fullmatch(value):
            raise PredictionImportError(f"bad {what} {value!r}: use letters, digits and _ . + @ : - (100 at most)")
    if not model_name:
        raise PredictionImportError("a model name is needed")
    context = Context(dataset)
    with transaction.atomic():
        replaced = _delete_imported(dataset, model_name)
        with _writer(model_name, model_version) as write:
            checker = Checker(context, write)
            read_file(path, checker, order)
            if checker.error_count:
                more = checker.error_count - len(checker.errors)
                raise PredictionImportError(
                    f"{path}: {checker.error_count} bad lines, nothing imported; fix them and import again",
                    checker.errors + ([f"... and {more} more"] if more else []),
                )
            if not checker.count:
                raise PredictionImportError(f"{path} holds no prediction")
    return ImportSummary(model_name, checker.count, replaced, checker.topk)


def _delete_imported(dataset: Dataset, model_name: str) -> int:
    """Delete the model's earlier imported predictions on the dataset; refuse if it ran here."""
    if connection.vendor == "postgresql":
        deleted, ran_here = _delete_returning_origins(dataset, model_name)
    else:
        existing = Prediction.objects.filter(image__dataset=dataset, model_name=model_name)
        ran_here = existing.filter(origin=PredictionOrigin.RAN_HERE).exists()
        deleted = 0 if ran_here else existing.delete()[0]
    if ran_here:
        raise PredictionImportError(
            f"model {model_name!r} ran here on dataset {dataset.name!r}: its predictions are kept; "
            "import the file under another --model name"
        )
    return deleted


def _delete_returning_origins(dataset: Dataset, model_name: str) -> tuple[int, bool]:
    """One pass over the dataset's images on PostgreSQL: delete the model's rows, say whether one
    of them ran here (the caller then raises, which rolls the deletion back)."""
    prediction, image = (connection.ops.quote_name(m._meta.db_table) for m in (Prediction, Image))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {prediction} p USING {image} i"  # noqa: S608 (table names only)
            " WHERE p.image_id = i.id AND i.dataset_id = %s AND p.model_name = %s RETURNING p.origin)"
            " SELECT count(*), count(*) FILTER (WHERE origin = %s) > 0 FROM gone",
            [dataset.pk, model_name, PredictionOrigin.RAN_HERE],
        )
        return cursor.fetchone()


def _writer(model_name: str, model_version: str) -> AbstractContextManager[Callable[[Block], None]]:
    """A function that writes a checked block: into one `COPY ... FROM STDIN (FORMAT binary)` on
    PostgreSQL (the server parses nothing), as multi-row INSERTs elsewhere."""
    if connection.vendor == "postgresql":
        return _copy_writer(model_name, model_version)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    return nullcontext(partial(_insert, row=(model_name, model_version, PredictionOrigin.IMPORTED, stamp)))


def _insert(block: Block, row: tuple[str, str, str, object]) -> None:
    model_name, model_version, origin, stamp = row
    packed = zip(block.image_ids.tolist(), _packed(block.labels, LABELS_DTYPE), _packed(block.probs, PROBS_DTYPE),
                 strict=True)
    insert_ignoring_conflicts(Prediction, COLUMNS, [
        (image_id, model_name, model_version, labels, probs, origin, stamp) for image_id, labels, probs in packed
    ])


@contextmanager
def _copy_writer(model_name: str, model_version: str) -> Iterator[Callable[[Block], None]]:
    """Fed block by block, the one COPY stores a block while Python checks the next."""
    name, version, origin = (text.encode() for text in (model_name, model_version, PredictionOrigin.IMPORTED))
    created_at = pg_copy.timestamptz(timezone.now())
    table = connection.ops.quote_name(Prediction._meta.db_table)
    with (connection.cursor() as cursor,
          cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)") as copy):

        def send(block: Block) -> None:
            copy.write(pg_copy.binary_rows([
                block.image_ids.astype(">i8"), name, version, block.labels.astype(LABELS_DTYPE),
                block.probs.astype(PROBS_DTYPE), origin, created_at,
            ], len(block.image_ids)))

        copy.write(pg_copy.SIGNATURE)
        yield send
        copy.write(pg_copy.TRAILER)


def _packed(array: np.ndarray, dtype: str) -> list[bytes]:
    """Each row of an (n, k) array as the bytes PackedArrayField stores."""
    packed = np.ascontiguousarray(array.astype(dtype))
    if not packed.shape[1]:
        return [b""] * len(packed)
    return packed.view(f"V{packed.itemsize * packed.shape[1]}").ravel().tolist()
