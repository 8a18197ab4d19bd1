"""Import 1000-way answers gathered elsewhere (JSON Lines), the same way as the other kinds.

One line per answer: {"image": "<external_id>", "worker": "A1", "labels": [325, 322], "original_label": 325,
"practice": false, "seconds": 12.5}; labels are taxonomy indices or wnids, best first, at most 5.
The batch, HIT, worker and assignment bookkeeping is annotation.response_import's: one batch per
file (keyed by its sha256), approved assignments, bulk inserts that ignore what is already there.
"""

from dataclasses import dataclass
from pathlib import Path

from annotation.models import Dataset, Image
from annotation.response_import import (
    CHUNK_LINES,
    ImportReport,
    Labels,
    Line,
    LineError,
    Writer,
    json_record,
    run_import,
    text_field,
)
from label1000.models import Label1000Response
from label1000.services import MAX_LABELS, AnswerError, response_from_line
from tasks.models import TaskKind, Worker


@dataclass
class _AnswerLine(Line):
    practice: bool = False
    seconds: float = 0.0


def parse_line(number: int, text: str, labels: Labels) -> _AnswerLine:
    """One checked line, or LineError saying what is wrong."""
    record = json_record(text)
    original = record.get("original_label")
    raw = record.get("labels")
    if not isinstance(raw, list) or len(raw) > MAX_LABELS:
        raise LineError(f"'labels' must be a list of at most {MAX_LABELS} labels")
    indices = [labels.index(value, "label") for value in raw]
    try:
        chosen, practice, seconds = response_from_line({**record, "labels": indices}, set(labels.pk_by_index))
    except AnswerError as exc:
        raise LineError(str(exc)) from exc
    return _AnswerLine(number, text_field(record, "image", Image), text_field(record, "worker", Worker),
                       None if original is None else labels.index(original, "original_label"),
                       selected=chosen, practice=practice, seconds=seconds)


class _AnswerWriter(Writer):
    def count(self) -> int:
        return Label1000Response.objects.filter(assignment__hit__batch=self.batch).count()

    def write(self, lines: list[_AnswerLine]) -> None:
        images = self._images(lines)
        known = [line for line in lines if line.image in images]
        for line in lines:
            if line.image not in images:
                self.report.error(line.number, f"unknown image {line.image!r} in dataset {self.dataset.name!r} "
                                               "(use --create-missing-images to create it without a file)")
        if not known:
            return
        assignments = self._assignments(known)
        Label1000Response.objects.bulk_create([
            Label1000Response(assignment_id=assignments[None, line.worker], image_id=images[line.image],
                              labels=line.selected, practice=line.practice, seconds_spent=line.seconds)
            for line in known
        ], batch_size=CHUNK_LINES, ignore_conflicts=True)


def import_label1000(dataset: Dataset, path: Path, task: str = TaskKind.LABEL1000,
                     create_missing_images: bool = False) -> ImportReport:
    """Import a JSONL file of 1000-way answers into `dataset` (idempotent per file)."""
    return run_import(dataset, path, TaskKind.LABEL1000, create_missing_images, _AnswerWriter, parse_line)
