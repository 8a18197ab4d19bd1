"""Whole-dataset exports as JSONL or CSV, streamed in constant memory.

Rows come from `values_list(...).iterator(chunk_size=CHUNK)` (a server-side cursor on PostgreSQL)
and leave as text blocks of BLOCK rows, so memory stays flat whatever the dataset size. Formats
follow docs (DESIGN.md "File formats"); worker ids are pseudonymised unless `raw_worker_ids`.
On PostgreSQL the largest tables take the fast path of analytics/pg_exports.py, which writes the
same bytes, so the writing rules here are deliberately simple enough to be said in SQL: strings keep
their UTF-8 (JSON escapes only `"`, `\\` and control characters), a CSV text field that a spreadsheet
would run as a formula gets a leading `'` (relabel.csv_safety), a CSV field is quoted only when it
holds a comma, a quote or a line break, and `sf` is rounded half-up to 4 decimals.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby, islice

from django.db import connection

from analytics import pg_exports
from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset
from label1000.services import export_table as label1000_export_table
from relabel.csv_safety import safe_cell
from tasks.privacy import public_worker_id

CHUNK = 20_000
BLOCK = 2_000
FORMATS = {"jsonl": "application/jsonl", "csv": "text/csv"}
quote = json.encoder.encode_basestring  # C-accelerated JSON string literal, UTF-8 kept like PostgreSQL's to_json
CSV_SPECIAL = frozenset(',"\r\n')


def sf_value(n_selected: int, n_shown: int) -> float:
    """The exported selection frequency: n_selected / n_shown rounded half-up to 4 decimals (0 when unseen).

    Integer arithmetic, so that PostgreSQL (pg_exports.sf_sql) gives the very same number.
    """
    if not n_shown:
        return 0.0
    return (n_selected * 20000 + n_shown) // (2 * n_shown) / 10000


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
        (image, label, k, n, sf_value(k, n)) for image, label, k, n in rows
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
                     "original_object_main_share", "num_objects_tied", "main_label_tied")
        .iterator(chunk_size=CHUNK)
    )
    return ["image", "original_label", "num_annotators", "num_objects", "main_label", "main_votes", "objects",
            "main_object", "original_object", "original_object_main_share", "num_objects_tied",
            "main_label_tied"], rows


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
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def _jsonl_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    keys = [quote(column) + ": " for column in columns]
    for row in rows:
        yield "{" + ", ".join(key + _json_value(value) for key, value in zip(keys, row, strict=True)) + "}\n"


def _csv_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    text = str(safe_cell(value))
    if CSV_SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _csv_blocks(columns: list[str], rows: Iterator[tuple]) -> Iterator[str]:
    yield ",".join(map(_csv_field, columns)) + "\n"
    lines = (",".join(map(_csv_field, row)) + "\n" for row in rows)
    while block := "".join(islice(lines, BLOCK)):
        yield block


def _jsonl_blocks(columns: list[str], rows: Iterator[tuple]) -> Iterator[str]:
    lines = _jsonl_lines(columns, rows)
    while block := "".join(islice(lines, BLOCK)):
        yield block


def stream(dataset: Dataset, what: str, fmt: str, raw_worker_ids: bool = False) -> Iterator[str]:
    """Text blocks of the whole export; `what` in EXPORTS, `fmt` in FORMATS.

    On PostgreSQL the large tables (SF, judgments, CLASSIFY responses) are written by PostgreSQL itself
    (analytics/pg_exports.py), with the same bytes; elsewhere rows stream through values_list().iterator().
    """
    if what in pg_exports.QUERIES and connection.vendor == "postgresql":
        return _with_header(EXPORTS[what](dataset, raw_worker_ids)[0], fmt,
                            pg_exports.stream(dataset.pk, what, fmt, raw_worker_ids))
    return python_stream(dataset, what, fmt, raw_worker_ids)


def python_stream(dataset: Dataset, what: str, fmt: str, raw_worker_ids: bool = False) -> Iterator[str]:
    """The export written row by row in Python (any database)."""
    columns, rows = EXPORTS[what](dataset, raw_worker_ids)
    return _csv_blocks(columns, rows) if fmt == "csv" else _jsonl_blocks(columns, rows)


def _with_header(columns: list[str], fmt: str, blocks: Iterator[str]) -> Iterator[str]:
    if fmt == "csv":
        yield ",".join(columns) + "\n"
    yield from blocks
