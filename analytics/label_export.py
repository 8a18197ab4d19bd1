"""The new labels out, in the format evaluation scripts already read (docs/formats.md, "Labels export").

`json`: ReaL-style (Beyer et al. 2020): one list per image, in dataset order (images by id, which
is their import order), of the valid labels: the labels of the objects of the CLASSIFY result,
or, where there is none, the confident CONTAINS labels (SF >= ratio x SF of the original label),
`[]` when there are none either. `jsonl`: one richer row per image (main label, object groups,
each judged label's SF, tie flags). Images are read CHUNK at a time, so memory stays flat.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice

from django.db.models import QuerySet

from analytics.exports import sf_value
from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency
from annotation.models import Dataset, Image

CHUNK = 10_000
LABEL_FORMATS = {"json": "application/json", "jsonl": "application/jsonl"}


def _by_image(queryset: QuerySet, first: int, last: int) -> QuerySet:
    return queryset.filter(image_id__gte=first, image_id__lte=last)


def _chunk_rows(dataset: Dataset, images: list[tuple[int, str, int | None]]) -> Iterator[dict]:
    first, last = images[0][0], images[-1][0]
    results = {
        row[0]: row[1:] for row in _by_image(ClassifyResult.objects.filter(image__dataset=dataset), first, last)
        .values_list("image_id", "object_groups", "main_label__index", "num_objects", "num_objects_tied",
                     "main_label_tied")
    }
    confident = dict(_by_image(ImageCategory.objects.filter(image__dataset=dataset), first, last)
                     .values_list("image_id", "labels"))
    sf: dict[int, dict[str, float]] = defaultdict(dict)
    rows = _by_image(SelectionFrequency.objects.filter(image__dataset=dataset), first, last)
    for image_id, label, selected, shown in rows.order_by("image_id", "label__index").values_list(
        "image_id", "label__index", "n_selected", "n_shown"
    ):
        sf[image_id][str(label)] = sf_value(selected, shown)
    for image_id, external_id, original in images:
        yield _row(external_id, original, results.get(image_id), confident.get(image_id) or [], sf.get(image_id, {}))


def _row(external_id: str, original: int | None, result: tuple | None, confident: list[int], sf: dict) -> dict:
    row = {"image": external_id, "original_label": original}
    if result is not None:
        groups, main, num_objects, objects_tied, main_tied = result
        labels, source = sorted({label for group in groups for label in group}), "classify"
    else:
        groups, main, num_objects, objects_tied, main_tied = None, None, None, None, None
        labels, source = sorted(confident), ("contains" if confident else "none")
    return {**row, "labels": labels, "source": source, "main_label": main, "num_objects": num_objects,
            "objects": groups, "sf": sf, "num_objects_tied": objects_tied, "main_label_tied": main_tied}


def label_rows(dataset: Dataset) -> Iterator[dict]:
    """One row per image of the dataset, in dataset order (see the module docstring)."""
    images = (Image.objects.filter(dataset=dataset).order_by("id")
              .values_list("id", "external_id", "original_label__index").iterator(chunk_size=CHUNK))
    while chunk := list(islice(images, CHUNK)):
        yield from _chunk_rows(dataset, chunk)


def stream(dataset: Dataset, fmt: str) -> Iterator[str]:
    """Text blocks of the labels export in `fmt` (a key of LABEL_FORMATS)."""
    if fmt not in LABEL_FORMATS:
        raise ValueError(f"the labels export is written as {' or '.join(LABEL_FORMATS)}, not {fmt!r}")
    rows = label_rows(dataset)
    if fmt == "jsonl":
        while block := "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in islice(rows, CHUNK)):
            yield block
        return
    yield "["
    separator = "\n"
    while chunk := list(islice(rows, CHUNK)):
        yield separator + ",\n".join(json.dumps(row["labels"]) for row in chunk)
        separator = ",\n"
    yield "\n]\n"
