"""Load the ImageNet-1k taxonomy (generated from WordNet 3.0 by scripts/build_taxonomy.py)."""

import json
from pathlib import Path

from django.db import transaction

from annotation.models import LabelClass

TAXONOMY_FILE = Path(__file__).resolve().parent / "data" / "imagenet1k.json"
FIELDS = ("wnid", "name", "lemmas", "definition", "hypernyms", "wikipedia", "superclass")


class TaxonomyError(Exception):
    """The taxonomy file is missing or malformed."""


def read_taxonomy(path: Path = TAXONOMY_FILE) -> list[dict]:
    """Return the class records of a taxonomy file, checked for the fields we need."""
    try:
        classes = json.loads(path.read_text(encoding="utf-8"))["classes"]
    except (OSError, ValueError, KeyError) as exc:
        raise TaxonomyError(f"cannot read taxonomy file {path}: {exc}") from exc
    for position, record in enumerate(classes):
        missing = [field for field in ("index", *FIELDS) if field not in record]
        if missing or record["index"] != position:
            raise TaxonomyError(f"{path}: class #{position} is malformed (missing {missing} or index out of order)")
    return classes


@transaction.atomic
def load_taxonomy(path: Path = TAXONOMY_FILE) -> int:
    """Create or update every class of the taxonomy; returns the number of classes. Idempotent."""
    records = read_taxonomy(path)
    existing = {label.index: label for label in LabelClass.objects.all()}
    to_create, to_update = [], []
    for record in records:
        label = existing.get(record["index"]) or LabelClass(index=record["index"])
        for field in FIELDS:
            setattr(label, field, record[field])
        (to_update if label.pk else to_create).append(label)
    LabelClass.objects.bulk_create(to_create, batch_size=500)
    LabelClass.objects.bulk_update(to_update, FIELDS, batch_size=500)
    return len(records)


class LabelResolver:
    """Resolve a label given as taxonomy index, wnid or class name (case-insensitive) to a LabelClass."""

    def __init__(self) -> None:
        labels = list(LabelClass.objects.all())
        self._by_index = {str(label.index): label for label in labels}
        self._by_wnid = {label.wnid.lower(): label for label in labels}
        self._by_name: dict[str, LabelClass | None] = {}
        for label in labels:
            for name in {label.name, *label.lemmas}:
                key = name.strip().lower()
                # A name shared by two classes is ambiguous: refuse it rather than guess.
                self._by_name[key] = None if key in self._by_name and self._by_name[key] != label else label

    def __len__(self) -> int:
        return len(self._by_index)

    def resolve(self, raw: str) -> LabelClass:
        key = raw.strip().lower()
        label = self._by_index.get(key) or self._by_wnid.get(key)
        if label is not None:
            return label
        if key in self._by_name:
            named = self._by_name[key]
            if named is None:
                raise KeyError(f"label {raw!r} names several classes: use its index or wnid")
            return named
        raise KeyError(f"unknown label {raw!r} (give a class index 0-{len(self) - 1}, a wnid or a class name)")
