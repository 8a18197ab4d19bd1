"""Import any model's top-k predictions on a dataset from a file (formats in docs/formats.md).

JSON Lines (`{"image": ..., "labels": [...], "probs": [...]}`), CSV with the same columns (a cell
holds its labels or probabilities separated by spaces or semicolons, or as a JSON list), or a
`.npy` array of shape (N, k) of label indices with an order file naming the N images, one external
id per line. Labels are taxonomy indices or wnids; probabilities are optional.

The whole file is checked before anything is written: a bad line makes the import fail with every
problem listed by line number (the first MAX_ERRORS), and the stored predictions stay as they were.
A good file replaces the (dataset, model) predictions imported before, in one transaction, so a
re-import is idempotent. Predictions that ran here are never replaced by a file.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from annotation.models import Dataset, Image, LabelClass
from models_zoo.models import Prediction, PredictionOrigin
from relabel.bulk import insert_ignoring_conflicts

MAX_ERRORS = 50
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+@:-]{0,99}")
LIST_SEPARATORS = re.compile(r"[\s;,]+")
COPY_BLOCK = 20_000
INT_ONLY = {int}
COLUMNS = ["image_id", "model_name", "model_version", "labels", "probs", "origin", "created_at"]


class PredictionImportError(Exception):
    """The file cannot be imported; nothing was written. `problems` lists what to fix."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems = list(problems)
        super().__init__("\n".join([message, *self.problems]))


class LineError(ValueError):
    pass


@dataclass
class ImportSummary:
    model: str
    images: int = 0
    replaced: int = 0
    topk: int = 0


@dataclass
class Parsed:
    """Checked rows in database form: image ids and the JSON text of labels and probabilities."""

    image_ids: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    probs: list[str] = field(default_factory=list)
    topk: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    count: int = 0
    seen: dict[int, int] = field(default_factory=dict)  # image id → line
    flush: Callable[["Parsed"], None] | None = None  # writes and empties the rows kept so far

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"line {line}: {message}")

    def add(self, line: int, image_id: int, labels: list[int], probs: list[float]) -> None:
        if image_id in self.seen:
            raise LineError(f"the image is already on line {self.seen[image_id]}")
        self.seen[image_id] = line
        self.image_ids.append(image_id)
        self.labels.append(_json_numbers(labels))
        self.probs.append(_json_numbers(probs))
        self.topk = max(self.topk, len(labels))
        self.count += 1
        if self.flush is not None and len(self.image_ids) >= COPY_BLOCK and not self.error_count:
            self.flush(self)

    def clear_rows(self) -> None:
        self.image_ids, self.labels, self.probs = [], [], []


class Context:
    """What a line is checked against: the dataset's images and the taxonomy."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.image_id = dict(Image.objects.filter(dataset=dataset).values_list("external_id", "id"))
        rows = list(LabelClass.objects.values_list("index", "wnid"))
        self.indices = frozenset(index for index, _ in rows)
        self.index_by_wnid = {wnid: index for index, wnid in rows}

    def image(self, value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise LineError("'image' must be the external id of an image of the dataset")
        found = self.image_id.get(value)
        if found is None:
            raise LineError(f"no image {value[:200]!r} in dataset {self.dataset.name!r} (import its images first)")
        return found

    def labels(self, values: object) -> list[int]:
        if not isinstance(values, list) or not values:
            raise LineError("'labels' must be a non-empty list of taxonomy indices or wnids, best first")
        if set(map(type, values)) == INT_ONLY and self.indices.issuperset(values):
            labels = values
        else:
            labels = [self._label(v) for v in values]
        if len(set(labels)) != len(labels):
            raise LineError("'labels' lists a label twice")
        return labels

    def _label(self, value: object) -> int:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, str) and value in self.index_by_wnid:
            return self.index_by_wnid[value]
        if type(value) is int and value in self.indices:
            return value
        raise LineError(f"unknown label {value!r} (a taxonomy index or wnid; run load_taxonomy?)")


def _probs(values: object, count: int) -> list[float]:
    if values is None or values == []:
        return []
    if not isinstance(values, list) or len(values) != count:
        raise LineError(f"'probs' must be a list of {count} probabilities, one per label")
    try:
        probs = [float(v) for v in values if not isinstance(v, bool)]
    except (TypeError, ValueError):
        probs = []
    if len(probs) != count or not all(0.0 <= p <= 1.0 for p in probs):
        raise LineError("'probs' must hold numbers between 0 and 1")
    return probs


def _json_numbers(numbers: list) -> str:
    """JSON text of a list of ints and finite floats: Python writes it the same way."""
    return str(numbers)


def _cell_list(text: str | None) -> list | None:
    """A CSV cell holding a list: a JSON list, or values separated by spaces, semicolons or commas."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise LineError(f"not a JSON list ({exc.msg})") from exc
    return LIST_SEPARATORS.split(text)


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                record = LineError(f"not JSON ({exc.msg})")
            yield number, record if isinstance(record, dict | LineError) else LineError("not a JSON object")


def _csv_records(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image", "labels"} - set(reader.fieldnames or [])
        if missing:
            raise PredictionImportError(f"{path}: the CSV header needs the columns image and labels (probs optional), "
                                        f"missing: {', '.join(sorted(missing))}")
        for row in reader:
            try:
                yield reader.line_num, {"image": row["image"], "labels": _cell_list(row["labels"]),
                                        "probs": _cell_list(row.get("probs"))}
            except LineError as exc:
                yield reader.line_num, exc


def parse_records(
    records: Iterable[tuple[int, dict | LineError]], context: Context, flush: Callable[[Parsed], None] | None = None
) -> Parsed:
    """Check every record; good ones are kept in database form (handed to `flush` every COPY_BLOCK rows
    while no line was bad), bad ones reported by line."""
    parsed = Parsed(flush=flush)
    for number, record in records:
        try:
            if isinstance(record, LineError):
                raise record
            labels = context.labels(record.get("labels"))
            parsed.add(number, context.image(record.get("image")), labels, _probs(record.get("probs"), len(labels)))
        except LineError as exc:
            parsed.error(number, str(exc))
    return parsed


def parse_npy(path: Path, order: Path, context: Context) -> Parsed:
    """An (N, k) array of label indices, row i for the image on line i of `order`."""
    try:
        array = np.load(path, allow_pickle=False)
        names = [line.strip() for line in order.read_text(encoding="utf-8").splitlines()]
    except (OSError, ValueError) as exc:
        raise PredictionImportError(f"cannot read {path} with its order file {order}: {exc}") from exc
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.dtype.kind not in "iu":
        raise PredictionImportError(f"{path}: need an integer array of shape (N, k), got {array.dtype} {array.shape}")
    if len(names) != array.shape[0]:
        raise PredictionImportError(f"{order} names {len(names)} images but {path} has {array.shape[0]} rows: "
                                    "the order file needs one external id per row")
    unknown = ~np.isin(array, np.fromiter(context.indices, dtype=np.int64))
    ordered = np.sort(array, axis=1)
    image_ids = [context.image_id.get(name) for name in names]
    if unknown.any() or (ordered[:, 1:] == ordered[:, :-1]).any() or None in image_ids \
            or len(set(image_ids)) != len(image_ids):
        return _npy_problems(array, names, unknown, context)
    rows = array.tolist()
    return Parsed(image_ids=image_ids, labels=list(map(str, rows)), probs=["[]"] * len(rows), topk=array.shape[1],
                  count=len(rows))


def _npy_problems(array: np.ndarray, names: list[str], unknown: np.ndarray, context: Context) -> Parsed:
    """The rows of an .npy file checked one by one, for their error messages."""
    records: list[tuple[int, dict | LineError]] = [
        (number, {"image": name, "labels": row}) for number, (name, row) in enumerate(zip(names, array.tolist(),
                                                                                          strict=True), start=1)
    ]
    for row in np.flatnonzero(unknown.any(axis=1)):
        bad = sorted(set(array[row][unknown[row]].tolist()))
        records[row] = (row + 1, LineError(f"row {row} of the array: {bad} are not taxonomy indices"))
    return parse_records(records, context)


def read_file(
    path: Path, context: Context, order: Path | None = None, flush: Callable[[Parsed], None] | None = None
) -> Parsed:
    """Parse a predictions file of any supported format (by its suffix); see parse_records for `flush`."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if order is None:
            raise PredictionImportError(f"{path}: a .npy file needs --order FILE (one external id per row)")
        return parse_npy(path, order, context)
    if order is not None:
        raise PredictionImportError("--order is only for .npy files: JSONL and CSV lines name their image")
    if suffix not in {".jsonl", ".json", ".csv"}:
        raise PredictionImportError(f"{path}: unknown format {suffix!r}; use .jsonl, .csv or .npy (with --order)")
    try:
        return parse_records(_csv_records(path) if suffix == ".csv" else _jsonl_records(path), context, flush)
    except OSError as exc:
        raise PredictionImportError(f"cannot read {path}: {exc}") from exc


def import_predictions(
    dataset: Dataset, model_name: str, path: Path, order: Path | None = None, model_version: str = ""
) -> ImportSummary:
    """Replace the model's imported predictions on the dataset by the file's, if every line is good.

    One transaction: the earlier rows are deleted, then good rows stream to the database while the
    file is read (PostgreSQL parses one block while Python checks the next); the first bad line
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
            parsed = read_file(path, context, order, write)
            if parsed.error_count:
                more = parsed.error_count - len(parsed.errors)
                raise PredictionImportError(
                    f"{path}: {parsed.error_count} bad lines, nothing imported; fix them and import again",
                    parsed.errors + ([f"... and {more} more"] if more else []),
                )
            if not parsed.count:
                raise PredictionImportError(f"{path} holds no prediction")
            write(parsed)
    return ImportSummary(model_name, parsed.count, replaced, parsed.topk)


def _delete_imported(dataset: Dataset, model_name: str) -> int:
    existing = Prediction.objects.filter(image__dataset=dataset, model_name=model_name)
    if existing.filter(origin=PredictionOrigin.RAN_HERE).exists():
        raise PredictionImportError(
            f"model {model_name!r} ran here on dataset {dataset.name!r}: its predictions are kept; "
            "import the file under another --model name"
        )
    return existing.delete()[0]


@contextmanager
def _writer(model_name: str, model_version: str) -> Iterator[Callable[[Parsed], None]]:
    """A function that writes the rows kept in a Parsed and empties it: COPY ... FROM STDIN in text
    format on PostgreSQL (names are checked: no tab, backslash or newline), multi-row INSERTs elsewhere."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        stamp = connection.ops.adapt_datetimefield_value(now)

        def insert(parsed: Parsed) -> None:
            rows = [(image_id, model_name, model_version, labels, probs, PredictionOrigin.IMPORTED, stamp)
                    for image_id, labels, probs in zip(parsed.image_ids, parsed.labels, parsed.probs, strict=True)]
            insert_ignoring_conflicts(Prediction, COLUMNS, rows, json_columns={"labels", "probs"})
            parsed.clear_rows()

        yield insert
        return
    table = connection.ops.quote_name(Prediction._meta.db_table)
    tail, suffix = f"\t{model_name}\t{model_version}\t", f"\t{PredictionOrigin.IMPORTED}\t{now.isoformat()}\n"
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:

        def send(parsed: Parsed) -> None:
            for start in range(0, len(parsed.image_ids), COPY_BLOCK):
                end = start + COPY_BLOCK
                copy.write("".join(
                    f"{image_id}{tail}{labels}\t{probs}{suffix}" for image_id, labels, probs
                    in zip(parsed.image_ids[start:end], parsed.labels[start:end], parsed.probs[start:end], strict=True)
                ))
            parsed.clear_rows()

        yield send
