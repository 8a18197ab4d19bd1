"""Import CONTAINS or CLASSIFY responses gathered elsewhere (JSON Lines, formats in docs/formats.md).

Each file becomes one Batch (provider "import", keyed by the file's sha256, status done); CONTAINS
answers get one Hit per label, CLASSIFY answers one Hit for the file; each worker gets one approved
Assignment per Hit. Aggregation then treats the answers like any other. Imported HITs carry no
HitItems: the answers themselves say what was shown. Re-importing the same file adds nothing
(unique constraints + bulk_create(ignore_conflicts=True)). Bad lines are reported with their line
number and skipped; the rest is imported, all in one transaction.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from annotation.models import ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from relabel.bulk import insert_ignoring_conflicts
from relabel.json_input import JSONInputError, load_json
from tasks.models import Assignment, Batch, Hit, Provider, TaskKind, Worker

CHUNK_LINES = 5000
MAX_ERRORS_KEPT = 1000
MAX_LINE_BYTES = 64 * 1024  # one answer per line: a few hundred bytes


class ResponseImportError(Exception):
    """The file cannot be imported at all (missing, unreadable)."""


@dataclass
class ImportReport:
    lines: int = 0
    imported: int = 0
    duplicates: int = 0
    created_images: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"line {line}: {message}")


@dataclass
class Line:
    number: int
    image: str
    worker: str
    original: int | None
    label: int | None = None  # CONTAINS
    selected: bool | list[int] = False
    main: int | None = None  # CLASSIFY


class LineError(ValueError):
    pass


class Labels:
    """Taxonomy indices and wnids → LabelClass pk and index."""

    def __init__(self) -> None:
        rows = list(LabelClass.objects.values_list("pk", "index", "wnid"))
        self.pk_by_index = {index: pk for pk, index, _ in rows}
        self.index_by_wnid = {wnid: index for _, index, wnid in rows}

    def index(self, value: object, what: str) -> int:
        if isinstance(value, str) and value in self.index_by_wnid:
            return self.index_by_wnid[value]
        if isinstance(value, int) and not isinstance(value, bool) and value in self.pk_by_index:
            return value
        raise LineError(f"unknown {what} {value!r} (a taxonomy index or wnid; run load_taxonomy?)")


def text_field(record: dict, key: str, model: type[Model]) -> str:
    """A line's text field, checked against the column that stores it (length, NUL, unpaired surrogates)."""
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise LineError(f"'{key}' must be a non-empty string")
    value = value.strip()
    limit = model._meta.get_field("external_id").max_length
    if len(value) > limit:
        raise LineError(f"'{key}' is {len(value)} characters long, over the limit of {limit}")
    if "\x00" in value:
        raise LineError(f"'{key}' contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LineError(f"'{key}' contains an unpaired surrogate (\\u{ord(value[exc.start]):04x})") from exc
    return value


def json_record(text: str) -> dict:
    """The JSON object on one line of an import file, or LineError."""
    try:
        record = load_json(text, max_bytes=MAX_LINE_BYTES)
    except JSONInputError as exc:
        raise LineError(str(exc)) from exc
    if not isinstance(record, dict):
        raise LineError("not a JSON object")
    return record


def parse_line(number: int, text: str, task: str, labels: Labels) -> Line:
    """One checked line of an import file, or LineError saying what is wrong."""
    record = json_record(text)
    original = record.get("original_label")
    line = Line(number, text_field(record, "image", Image), text_field(record, "worker", Worker),
                 None if original is None else labels.index(original, "original_label"))
    if task == TaskKind.CONTAINS:
        line.label = labels.index(record.get("label"), "label")
        if not isinstance(record.get("selected"), bool):
            raise LineError("'selected' must be true or false")
        line.selected = record["selected"]
        return line
    selected = record.get("selected")
    if not isinstance(selected, list) or not selected:
        raise LineError("'selected' must be a non-empty list of labels")
    line.selected = sorted({labels.index(value, "label") for value in selected})
    line.main = labels.index(record.get("main"), "main label")
    if line.main not in line.selected:
        raise LineError(f"main label {line.main} is not among the selected labels")
    return line


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_batch(dataset: Dataset, task: str, path: Path, sha: str) -> Batch:
    key = hashlib.sha256(f"import:{dataset.pk}:{task}:{sha}".encode()).hexdigest()
    batch, _ = Batch.objects.get_or_create(
        key=key,
        defaults={"dataset": dataset, "kind": task, "name": f"import {path.name}", "provider": Provider.IMPORT,
                  "status": Batch.Status.DONE, "assignments_per_hit": 0,
                  "options": {"file": path.name, "sha256": sha}},
    )
    return batch


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text


def import_responses(
    dataset: Dataset, path: Path, task: str, create_missing_images: bool = False
) -> ImportReport:
    """Import a JSONL file of CONTAINS or CLASSIFY responses into `dataset` (idempotent per file)."""
    if task not in (TaskKind.CONTAINS, TaskKind.CLASSIFY):
        raise ResponseImportError(f"cannot import {task!r} responses: use contains or classify")

    def parse(number: int, text: str, labels: Labels) -> Line:
        return parse_line(number, text, task, labels)

    report = run_import(dataset, path, task, create_missing_images, Writer, parse)
    refresh_statistics(ContainsJudgment if task == TaskKind.CONTAINS else ClassifyResponse)
    return report


def run_import(
    dataset: Dataset, path: Path, task: str, create_missing_images: bool,
    writer_class: type["Writer"], parse: Callable[[int, str, Labels], Line],
) -> ImportReport:
    """Read an import file in chunks, check each line with `parse` and store the good ones with
    `writer_class`, in one transaction; lines already imported from the same file count as duplicates."""
    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise ResponseImportError(f"cannot read {path}: {exc}") from exc
    report = ImportReport()
    labels = Labels()
    with transaction.atomic():
        writer = writer_class(dataset, import_batch(dataset, task, path, sha), labels, create_missing_images, report)
        before = writer.count()
        lines = numbered_lines(path)
        while chunk := list(islice(lines, CHUNK_LINES)):
            report.lines += len(chunk)
            parsed = []
            for number, text in chunk:
                try:
                    parsed.append(parse(number, text, labels))
                except LineError as exc:
                    report.error(number, str(exc))
            writer.write(parsed)
        report.imported = writer.count() - before
    report.duplicates = report.lines - report.error_count - report.imported
    return report


def refresh_statistics(model: type[Model]) -> None:
    """ANALYZE after a bulk load on PostgreSQL, so the next aggregate is planned for the real sizes.

    Without it the planner still believes the freshly filled tables are nearly empty and picks
    nested loops that turn a one-second aggregate into minutes.
    """
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table, Assignment._meta.db_table, Image._meta.db_table, Worker._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(map(connection.ops.quote_name, tables))}")


class Writer:
    """Resolves images, workers, HITs and assignments for a chunk of lines, then bulk-inserts the answers."""

    def __init__(self, dataset: Dataset, batch: Batch, labels: Labels, create: bool, report: ImportReport):
        self.dataset, self.batch, self.labels, self.create, self.report = dataset, batch, labels, create, report
        self.hits: dict[int | None, int] = dict(batch.hits.values_list("label_id", "pk"))
        self.workers: dict[str, int] = {}
        self.assignments: dict[tuple[int | None, str], int] = {}

    def count(self) -> int:
        model = ContainsJudgment if self.batch.kind == TaskKind.CONTAINS else ClassifyResponse
        return model.objects.filter(assignment__hit__batch=self.batch).count()

    def write(self, lines: list[Line]) -> None:
        images = self._images(lines)
        known = []
        for line in lines:
            if line.image in images:
                known.append(line)
            else:
                self.report.error(line.number, f"unknown image {line.image!r} in dataset {self.dataset.name!r} "
                                               "(use --create-missing-images to create it without a file)")
        if not known:
            return
        assignments = self._assignments(known)
        if self.batch.kind == TaskKind.CONTAINS:
            insert_ignoring_conflicts(ContainsJudgment, ["assignment_id", "image_id", "label_id", "selected"], [
                (assignments[self._hit_key(line), line.worker], images[line.image],
                 self.labels.pk_by_index[line.label], line.selected)
                for line in known
            ])
        else:
            insert_ignoring_conflicts(ClassifyResponse, ["assignment_id", "image_id", "selected", "main_label_id"], [
                (assignments[None, line.worker], images[line.image], json.dumps(line.selected),
                 self.labels.pk_by_index[line.main])
                for line in known
            ], json_columns={"selected"})

    def _images(self, lines: list[Line]) -> dict[str, int]:
        wanted = {line.image for line in lines}
        rows = Image.objects.filter(dataset=self.dataset, external_id__in=wanted).values_list("external_id", "pk")
        found = dict(rows)
        missing = wanted - set(found)
        if missing and self.create:
            originals = {line.image: line.original for line in lines}
            Image.objects.bulk_create([
                Image(dataset=self.dataset, external_id=name,
                      original_label_id=self.labels.pk_by_index.get(originals[name]))
                for name in sorted(missing)
            ], ignore_conflicts=True)
            self.report.created_images += len(missing)
            found.update(Image.objects.filter(dataset=self.dataset, external_id__in=missing)
                         .values_list("external_id", "pk"))
        return found

    def _hit_key(self, line: Line) -> int | None:
        return self.labels.pk_by_index[line.label] if self.batch.kind == TaskKind.CONTAINS else None

    def _hit(self, label_id: int | None) -> int:
        if label_id not in self.hits:
            hit = Hit.objects.create(batch=self.batch, label_id=label_id, status=Hit.Status.COMPLETE)
            self.hits[label_id] = hit.pk
        return self.hits[label_id]

    def _assignments(self, lines: list[Line]) -> dict[tuple[int | None, str], int]:
        """(hit key, worker name) → assignment id, creating what is missing (cached across chunks)."""
        self._add_workers({line.worker for line in lines} - set(self.workers))
        missing = {(self._hit_key(line), line.worker) for line in lines} - set(self.assignments)
        if missing:
            now = timezone.now()
            Assignment.objects.bulk_create([
                Assignment(hit_id=self._hit(label), worker_id=self.workers[name], status=Assignment.Status.APPROVED,
                           confirmation=Assignment.Confirmation.CONFIRMED, confirmed_at=now,
                           submitted_at=now, reviewed_at=now)
                for label, name in missing
            ], ignore_conflicts=True)
            hit_label = {pk: label for label, pk in self.hits.items()}
            rows = Assignment.objects.filter(
                hit_id__in={self.hits[label] for label, _ in missing},
                worker_id__in={self.workers[name] for _, name in missing},
            ).values_list("hit_id", "worker__external_id", "pk")
            self.assignments.update({(hit_label[hit], name): pk for hit, name, pk in rows})
        return self.assignments

    def _add_workers(self, names: set[str]) -> None:
        if not names:
            return
        Worker.objects.bulk_create([Worker(provider=Provider.IMPORT, external_id=name) for name in names],
                                   ignore_conflicts=True)
        self.workers.update(Worker.objects.filter(provider=Provider.IMPORT, external_id__in=names)
                            .values_list("external_id", "pk"))
