"""Checking imported predictions: a whole block at once when it is clean, line by line otherwise.

`Checker.block` takes a block of rows as arrays and vouches for all of them with whole-array
operations, or for none (it then takes nothing and says so). `Checker.records` checks rows one by
one and reports each bad line; it is the reference: a block is only taken whole when every row would
pass `records` unchanged. Good rows leave as `Block`s, handed to the writer while no line was bad.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from annotation.models import Dataset, Image, LabelClass

MAX_ERRORS = 50
INT_ONLY = {int}


class LineError(ValueError):
    """What is wrong with one line (or row) of the file."""


@dataclass(frozen=True)
class Block:
    """Checked rows of one shape: image ids (n,), labels (n, k) and probabilities (n, k), or (n, 0) without."""

    image_ids: np.ndarray
    labels: np.ndarray
    probs: np.ndarray


class Context:
    """What a row is checked against: the dataset's images and the taxonomy."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        rows = list(Image.objects.filter(dataset=dataset).values_list("external_id", "id"))
        self.position = {name: number for number, (name, _) in enumerate(rows)}
        self.image_ids = np.array([image_id for _, image_id in rows], dtype=np.int64)
        taxonomy = list(LabelClass.objects.values_list("index", "wnid"))
        self.indices = frozenset(index for index, _ in taxonomy)
        self.index_by_wnid = {wnid: index for index, wnid in taxonomy}
        self.is_label = np.zeros(max(self.indices, default=-1) + 1, dtype=bool)
        self.is_label[list(self.indices)] = True

    def positions(self, names: Iterable[str]) -> np.ndarray | None:
        """Each named image's position in `image_ids`, or None if any name is not an image of the dataset."""
        found = list(map(self.position.get, names))
        return None if None in found else np.array(found, dtype=np.int64)

    def all_labels(self, labels: np.ndarray) -> bool:
        """Whether an (n, k) array, k >= 1, holds taxonomy indices only."""
        return (labels.ndim == 2 and labels.shape[1] > 0 and labels.dtype.kind in "iu" and labels.size > 0
                and labels.min() >= 0 and labels.max() < len(self.is_label) and bool(self.is_label[labels].all()))

    def image(self, value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise LineError("'image' must be the external id of an image of the dataset")
        found = self.position.get(value)
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


def checked_probs(values: object, count: int) -> list[float]:
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


@dataclass
class Checker:
    """Checks a file's rows block by block; counts them and collects the problems (the first MAX_ERRORS)."""

    context: Context
    write: Callable[[Block], None] | None = None  # gets good blocks while no line was bad
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    count: int = 0
    topk: int = 0
    seen_on_line: np.ndarray = field(init=False)  # per image position: the line that named it (0: none yet)

    def __post_init__(self) -> None:
        self.seen_on_line = np.zeros(len(self.context.image_ids), dtype=np.int64)

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"line {line}: {message}")

    def block(self, lines: np.ndarray, positions: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> bool:
        """Take every row if all are good, with whole-array checks; otherwise take none and return False.

        lines: (n,) line numbers; positions: (n,) image positions (Context.positions); labels: (n, k)
        integers; probs: (n, k) floats, or (n, 0) without.
        """
        good = (self.context.all_labels(labels) and _distinct_per_row(labels)
                and probs.shape in {(len(labels), 0), labels.shape} and _probabilities(probs)
                and self._claim(positions, lines))
        if good:
            self._take(Block(self.context.image_ids[positions], labels, probs))
        return good

    def records(self, records: Iterable[tuple[int, dict | LineError]]) -> None:
        """Check rows one by one: good ones are taken, bad ones reported with their line."""
        rows: list[tuple[int, list[int], list[float]]] = []
        for number, record in records:
            try:
                if isinstance(record, LineError):
                    raise record
                labels = self.context.labels(record.get("labels"))
                position = self.context.image(record.get("image"))
                probs = checked_probs(record.get("probs"), len(labels))
                self._claim_one(position, number)
                rows.append((position, labels, probs))
            except LineError as exc:
                self.error(number, str(exc))
        for block in _blocks(rows, self.context.image_ids):
            self._take(block)

    def _claim(self, positions: np.ndarray, lines: np.ndarray) -> bool:
        """Mark the images as named on these lines, if none was named before or twice here."""
        if self.seen_on_line[positions].any():
            return False
        self.seen_on_line[positions] = lines
        if (self.seen_on_line[positions] != lines).any():  # an image twice in the block: the last line won
            self.seen_on_line[positions] = 0
            return False
        return True

    def _claim_one(self, position: int, line: int) -> None:
        if self.seen_on_line[position]:
            raise LineError(f"the image is already on line {self.seen_on_line[position]}")
        self.seen_on_line[position] = line

    def _take(self, block: Block) -> None:
        self.count += len(block.image_ids)
        self.topk = max(self.topk, block.labels.shape[1])
        if self.write is not None and not self.error_count:
            self.write(block)


def _distinct_per_row(labels: np.ndarray) -> bool:
    ordered = np.sort(labels, axis=1)
    return not (ordered[:, 1:] == ordered[:, :-1]).any()


def _probabilities(probs: np.ndarray) -> bool:
    return probs.dtype.kind == "f" and bool(((probs >= 0.0) & (probs <= 1.0)).all())  # NaN fails both


def _blocks(rows: list[tuple[int, list[int], list[float]]], image_ids: np.ndarray) -> Iterable[Block]:
    """Rows checked one by one, as blocks of one shape each (same k, with or without probabilities)."""
    shapes: dict[tuple[int, int], list[tuple[int, list[int], list[float]]]] = {}
    for row in rows:
        shapes.setdefault((len(row[1]), len(row[2])), []).append(row)
    for (k, with_probs), same in shapes.items():
        positions = np.array([position for position, _, _ in same], dtype=np.int64)
        labels = np.array([labels for _, labels, _ in same], dtype=np.int64).reshape(len(same), k)
        probs = np.array([probs for _, _, probs in same], dtype=np.float64).reshape(len(same), with_probs)
        yield Block(image_ids[positions], labels, probs)
