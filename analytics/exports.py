"""Whole-dataset exports as JSONL or CSV, streamed in constant memory.

Rows come from `values_list(...).iterator(chunk_size=CHUNK)` (a server-side cursor on PostgreSQL)
and leave as text blocks of BLOCK rows, so memory stays flat whatever the dataset size. Formats
follow docs (DESIGN.md "File formats"); worker ids are pseudonymised unless `raw_worker_ids`.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby, islice

from django.db import connection

from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency
from annotation.label1000 import export_table as label1000_export_table
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from tasks.privacy import public_worker_id

CHUNK = 20_000
BLOCK = 2_000
FORMATS = {"jsonl": "application/jsonl", "csv": "text/csv"}
quote = json.encoder.encode_basestring_ascii  # C-accelerated JSON string literal


class WorkerIds:
    """Memoised public worker ids (a few thousand workers, millions of rows)."""

    def __init__(self, raw: bool) -> None:
        self.raw = raw
        self.cache: dict[str, str] = {}

    def __call__(self, external_id: str) -> str:
        value = self.cache.get(external_id)
        if value is None:
            value = self.cache[external_id] = public_worker_id(external_id, raw=self.raw)
        return value


def _sf_rows(dataset: Dataset, raw: bool) -> tuple[list[str], Iterator[tuple]]:
    rows = (
        SelectionFrequency.objects.filter(image__dataset=dataset).order_by("image_id", "label_id")
        .values_list("image__external_id", "label__index", "n_selected", "n_shown").iterator(chunk_size=CHUNK)
    )
    return ["image", "label", "n_selected", "n_shown", "sf"], (
        (image, label, k, n, round(k / n, 4) if n else 0.0) for image, label, k, n in rows
    )


def _contains_rows(dataset: Dataset, raw: bool) -> tuple[list[str], Iterator[tuple]]:
    worker = WorkerIds(raw)
    rows = (
        ContainsJudgment.objects.filter(image__dataset=dataset).order_by("id")
        .values_list("image__external_id", "label__index", "assignment__worker__external_id", "selected")
        .iterator(chunk_size=CHUNK)
    )
    return ["image", "label", "worker", "selected"], (
        (image, label, worker(w), selected) for image, label, w, selected in rows
    )


def _classify_response_rows(dataset: Dataset, raw: bool) -> tuple[list[str], Iterator[tuple]]:
    worker = WorkerIds(raw)
    rows = (
        ClassifyResponse.objects.filter(image__dataset=dataset).order_by("id")
        .values_list("image__external_id", "image__original_label__index", "assignment__worker__external_id",
                     "selected", "main_label__index")
        .iterator(chunk_size=CHUNK)
    )
    return ["image", "original_label", "worker", "selected", "main"], (
        (image, original, worker(w), selected, main) for image, original, w, selected, main in rows
    )


def _classify_rows(dataset: Dataset, raw: bool) -> tuple[list[str], Iterator[tuple]]:
    rows = (
        ClassifyResult.objects.filter(image__dataset=dataset).order_by("image_id")
        .values_list("image__external_id", "image__original_label__index", "num_annotators", "num_objects",
                     "main_label__index", "main_votes", "object_groups", "main_object", "original_object",
                     "original_object_main_share")
        .iterator(chunk_size=CHUNK)
    )
    return ["image", "original_label", "num_annotators", "num_objects", "main_label", "main_votes", "objects",
            "main_object", "original_object", "original_object_main_share"], rows


def _candidate_rows(dataset: Dataset, raw: bool) -> tuple[list[str], Iterator[tuple]]:
    rows = (
        CandidateLabel.objects.filter(image__dataset=dataset).order_by("image_id", "label__index")
        .values_list("image_id", "image__external_id", "image__original_label__index", "label__index",
                     "is_original", "sources")
        .iterator(chunk_size=CHUNK)
    )
    grouped = (
        (image, original, [{"label": label, "original": is_original, "sources": sources}
                           for _, _, _, label, is_original, sources in members])
        for (_, image, original), members in groupby(rows, key=lambda row: row[:3])
    )
    return ["image", "original_label", "candidates"], grouped


def _category_rows(dataset: Dataset, raw: bool) -> tuple[list[str], Iterator[tuple]]:
    rows = (
        ImageCategory.objects.filter(image__dataset=dataset).order_by("image_id")
        .values_list("image__external_id", "image__original_label__index", "category", "labels")
        .iterator(chunk_size=CHUNK)
    )
    return ["image", "original_label", "category", "labels"], rows


EXPORTS: dict[str, Callable[[Dataset, bool], tuple[list[str], Iterator[tuple]]]] = {
    "candidates": _candidate_rows,
    "sf": _sf_rows,
    "classify": _classify_rows,
    "contains": _contains_rows,
    "classify_responses": _classify_response_rows,
    "categories": _category_rows,
    "label1000_responses": lambda dataset, raw: label1000_export_table(dataset.pk, WorkerIds(raw)),
}


def _json_value(value: object) -> str:
    if isinstance(value, str):
        return quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(", ", ": "))


def _jsonl_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    keys = [quote(column) + ": " for column in columns]
    for row in rows:
        yield "{" + ", ".join(key + _json_value(value) for key, value in zip(keys, row, strict=True)) + "}\n"


def _csv_value(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _csv_blocks(columns: list[str], rows: Iterator[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    while True:
        block = list(islice(rows, BLOCK))
        if not block:
            break
        writer.writerows([tuple(_csv_value(v) for v in row) for row in block])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _jsonl_blocks(columns: list[str], rows: Iterator[tuple]) -> Iterator[str]:
    lines = _jsonl_lines(columns, rows)
    while block := "".join(islice(lines, BLOCK)):
        yield block


SF_COPY_COLUMNS = {
    "csv": "i.external_id AS image, l.index AS label, sf.n_selected, sf.n_shown, {sf} AS sf",
    "jsonl": "json_build_object('image', i.external_id, 'label', l.index, 'n_selected', sf.n_selected, "
             "'n_shown', sf.n_shown, 'sf', {sf})::text",
}
SF_COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER",
    # JSON never contains raw control characters, so these quote/delimiter bytes leave each line as is.
    "jsonl": "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'",
}
COPY_BLOCK_BYTES = 1 << 20


def _pg_copy_sf(dataset: Dataset, fmt: str) -> Iterator[str]:
    """The SF export produced by PostgreSQL itself (COPY ... TO STDOUT): no Python work per row."""
    sf_table, image_table, label_table = (
        connection.ops.quote_name(model._meta.db_table) for model in (SelectionFrequency, Image, LabelClass)
    )
    value = "CASE WHEN sf.n_shown > 0 THEN round(sf.n_selected::numeric / sf.n_shown, 4)::float8 ELSE 0 END"
    query = (
        f"SELECT {SF_COPY_COLUMNS[fmt].format(sf=value)} FROM {sf_table} sf "  # noqa: S608 - no user input
        f"JOIN {image_table} i ON i.id = sf.image_id JOIN {label_table} l ON l.id = sf.label_id "
        f"WHERE i.dataset_id = {int(dataset.pk)} ORDER BY sf.image_id, sf.label_id"
    )
    statement = f"COPY ({query}) TO STDOUT WITH ({SF_COPY_OPTIONS[fmt]})"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        parts: list[bytes] = []
        size = 0
        for data in copy:
            parts.append(bytes(data))
            size += len(data)
            if size >= COPY_BLOCK_BYTES:
                yield b"".join(parts).decode()
                parts, size = [], 0
        if parts:
            yield b"".join(parts).decode()


def stream(dataset: Dataset, what: str, fmt: str, raw_worker_ids: bool = False) -> Iterator[str]:
    """Text blocks of the whole export; `what` in EXPORTS, `fmt` in FORMATS.

    On PostgreSQL the SF export (the largest table) is written by COPY; elsewhere, and for the other
    tables (worker ids are hashed in Python), rows stream through values_list().iterator().
    """
    if what == "sf" and connection.vendor == "postgresql":
        return _pg_copy_sf(dataset, fmt)
    columns, rows = EXPORTS[what](dataset, raw_worker_ids)
    return _csv_blocks(columns, rows) if fmt == "csv" else _jsonl_blocks(columns, rows)
