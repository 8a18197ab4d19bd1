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

from analytics.models import ClassifyResult, SelectionFrequency
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset
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
        SelectionFrequency.objects.filter(image__dataset=dataset).order_by("image_id", "label__index")
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


EXPORTS: dict[str, Callable[[Dataset, bool], tuple[list[str], Iterator[tuple]]]] = {
    "candidates": _candidate_rows,
    "sf": _sf_rows,
    "classify": _classify_rows,
    "contains": _contains_rows,
    "classify_responses": _classify_response_rows,
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


def stream(dataset: Dataset, what: str, fmt: str, raw_worker_ids: bool = False) -> Iterator[str]:
    """Text blocks of the whole export; `what` in EXPORTS, `fmt` in FORMATS."""
    columns, rows = EXPORTS[what](dataset, raw_worker_ids)
    return _csv_blocks(columns, rows) if fmt == "csv" else _jsonl_blocks(columns, rows)
