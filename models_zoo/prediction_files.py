"""Reading predictions files block by block (formats in docs/formats.md).

Each reader cuts its file into blocks of BLOCK_ROWS rows and tries to turn a block into arrays at C
speed (msgspec for JSON, numpy for CSV cells and .npy) for `Checker.block`; a block that does not
convert cleanly, or that the checker does not take whole, goes through `Checker.records` row by row,
which says what is wrong on which line. So clean files are fast and bad ones well explained.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import msgspec
import numpy as np

from models_zoo.prediction_checks import Checker, Context, LineError

BLOCK_ROWS = 20_000
LIST_SEPARATORS = re.compile(r"[\s;,]+")
# Characters a CSV cell of separated labels / probabilities may hold to be read by numpy directly.
LABEL_CHARACTERS = b"0123456789 \t,;\n"
PROB_CHARACTERS = LABEL_CHARACTERS + b".eE+-"


class PredictionImportError(Exception):
    """The file cannot be imported; nothing was written. `problems` lists what to fix."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__("\n".join([message, *self.problems]))


class JsonLine(msgspec.Struct, gc=False):
    """A JSONL line of the usual shape; anything else (wnids, strings, a bad line) fails to decode."""

    image: str
    labels: tuple[int, ...]
    probs: tuple[float, ...] | None = None


decode_json_line = msgspec.json.Decoder(JsonLine).decode


def read_jsonl(path: Path, checker: Checker) -> None:
    with path.open("rb") as handle:
        first = 1
        while lines := list(islice(handle, BLOCK_ROWS)):
            if not _jsonl_block(lines, first, checker):
                checker.records(_jsonl_records(lines, first))
            first += len(lines)


def _jsonl_block(lines: list[bytes], first: int, checker: Checker) -> bool:
    try:
        rows = [decode_json_line(line) for line in lines]
        labels = np.array([row.labels for row in rows], dtype=np.int64)
        probs = _probs_array([row.probs for row in rows], len(rows))
    except (msgspec.MsgspecError, ValueError, TypeError, OverflowError):
        return False
    positions = checker.context.positions([row.image for row in rows])
    return positions is not None and checker.block(np.arange(first, first + len(rows)), positions, labels, probs)


def _probs_array(values: list[tuple[float, ...] | None], count: int) -> np.ndarray:
    if values.count(None) + values.count(()) == count:
        return np.zeros((count, 0))
    return np.array(values, dtype=np.float64)


def _jsonl_records(lines: list[bytes], first: int) -> Iterator[tuple[int, dict | LineError]]:
    for number, line in enumerate(lines, start=first):
        text = line.decode("utf-8", errors="replace")
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            record = LineError(f"not JSON ({exc.msg})")
        yield number, record if isinstance(record, dict | LineError) else LineError("not a JSON object")


def read_csv(path: Path, checker: Checker) -> None:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        missing = {"image", "labels"} - set(header)
        if missing:
            raise PredictionImportError(f"{path}: the CSV header needs the columns image and labels (probs optional), "
                                        f"missing: {', '.join(sorted(missing))}")
        column = {name: number for number, name in enumerate(header)}  # a repeated name: its last column
        for block in _csv_blocks(reader, column, len(header)):
            if not _csv_block(block, checker):
                checker.records(_csv_records(block))


@dataclass
class CsvBlock:
    """The cells that matter of up to BLOCK_ROWS rows (None: the row is too short to have it)."""

    images: list[str | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    probs: list[str | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    all_full: bool = True  # every row has the header's number of cells


def _csv_blocks(reader: Iterator[list[str]], column: dict[str, int], width: int) -> Iterator[CsvBlock]:
    """Blocks of cells, column by column. Rows are not kept: a block's 20,000 lists, alive at once,
    would make the cyclic garbage collector walk all of the process's objects again and again."""
    image, labels, probs = column["image"], column["labels"], column.get("probs")
    while True:
        block = CsvBlock()
        for row in islice(reader, BLOCK_ROWS):
            if len(row) == width:
                block.images.append(row[image])
                block.labels.append(row[labels])
                block.probs.append(None if probs is None else row[probs])
            elif row:  # csv.DictReader skips empty rows too
                block.all_full = False
                for cells, number in ((block.images, image), (block.labels, labels), (block.probs, probs)):
                    cells.append(row[number] if number is not None and number < len(row) else None)
            else:
                continue
            block.lines.append(reader.line_num)
        if not block.lines:
            return
        yield block


def _csv_block(block: CsvBlock, checker: Checker) -> bool:
    if not block.all_full:
        return False
    labels = _cells_array(block.labels, int)
    probs = _probs_cells(block.probs)
    positions = checker.context.positions(block.images)
    return (labels is not None and probs is not None and positions is not None
            and checker.block(np.array(block.lines), positions, labels, probs))


def _probs_cells(cells: list[str | None]) -> np.ndarray | None:
    if cells[0] is None or not "".join(cells).strip():  # no probs column, or every cell empty
        return np.zeros((len(cells), 0))
    return _cells_array(cells, float)


def _cells_array(cells: list[str], kind: type[int] | type[float]) -> np.ndarray | None:
    """An (n, k) array of the numbers in n cells of one kind, or None when `_cell_list` must decide.

    Cells are either all JSON lists (`[1, 2]`) or all values separated by spaces, semicolons or
    commas (`1 2`), as `_cell_list` reads them; numbers only, in forms that Python reads the same.
    """
    dtype, characters = (np.int64, LABEL_CHARACTERS) if kind is int else (np.float64, PROB_CHARACTERS)
    text = "\n".join(cells)
    if "[" in text:
        try:
            lists = msgspec.json.decode(f"[{','.join(cells)}]", type=list[tuple[kind, ...]])
            return np.array(lists, dtype=dtype) if len(lists) == len(cells) else None
        except (msgspec.MsgspecError, ValueError, OverflowError):
            return None
    if not text.isascii() or text.encode().translate(None, characters) or text.count("\n") != len(cells) - 1:
        return None
    squeezed = "\n" + text.replace(" ", "").replace("\t", "") + "\n"
    if any(edge in squeezed for edge in ("\n,", "\n;", ",\n", ";\n")):  # _cell_list reads an empty value there
        return None
    try:
        array = np.loadtxt(text.replace(",", " ").replace(";", " ").split("\n"), dtype=dtype, comments=None, ndmin=2)
    except ValueError:
        return None
    return array if array.shape[0] == len(cells) else None  # numpy skips blank lines: an empty cell


def _csv_records(block: CsvBlock) -> Iterator[tuple[int, dict | LineError]]:
    for number, image, labels, probs in zip(block.lines, block.images, block.labels, block.probs, strict=True):
        try:
            yield number, {"image": image, "labels": _cell_list(labels), "probs": _cell_list(probs)}
        except LineError as exc:
            yield number, exc


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


def read_npy(path: Path, order: Path, checker: Checker) -> None:
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
    for start in range(0, len(names), BLOCK_ROWS):
        rows, block_names = array[start:start + BLOCK_ROWS], names[start:start + BLOCK_ROWS]
        positions = checker.context.positions(block_names)
        lines = np.arange(start + 1, start + 1 + len(rows))
        if positions is None or not checker.block(lines, positions, rows, np.zeros((len(rows), 0))):
            checker.records(_npy_records(rows, block_names, start, checker.context))


def _npy_records(
    rows: np.ndarray, names: list[str], start: int, context: Context
) -> Iterator[tuple[int, dict | LineError]]:
    """The rows of an .npy block one by one, for their error messages (line: the row's line in the order file)."""
    unknown = ~np.isin(rows, np.fromiter(context.indices, dtype=np.int64))
    for offset, (name, labels) in enumerate(zip(names, rows.tolist(), strict=True)):
        row = start + offset
        if unknown[offset].any():
            bad = sorted(set(rows[offset][unknown[offset]].tolist()))
            yield row + 1, LineError(f"row {row} of the array: {bad} are not taxonomy indices")
        else:
            yield row + 1, {"image": name, "labels": labels}
