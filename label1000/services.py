"""1000-way labeling (the ILSVRC human-vs-ConvNet interface): class order, page payloads, answers.

The annotator sees every class of the taxonomy in the order of a depth-first walk of the WordNet
hierarchy, so related classes sit together (all dog breeds, all vehicles), and picks up to five in
order of confidence. Each class's `hypernyms` holds one root→class path; the tree is the union of
those paths, and siblings are visited in (name, wnid) order so the sequence is deterministic.
"""

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from annotation.models import Image, LabelClass
from label1000.models import Label1000Response
from models_zoo.models import Prediction
from tasks.models import Assignment, Batch, HitItem

MAX_LABELS = 5
DEFAULT_PRUNE_TOP_K = 100
PRACTICE_MODEL_TOP = 5
# A page left open overnight is not 'time spent labeling'; longer claims are refused as implausible.
MAX_SECONDS_PER_IMAGE = 24 * 3600


class AnswerError(ValueError):
    """A label1000 submission that cannot be stored; the message says what to fix."""


# --- hierarchy order ------------------------------------------------------------------------------


@dataclass
class _Node:
    wnid: str
    name: str
    children: dict[str, "_Node"] = field(default_factory=dict)
    classes: list[int] = field(default_factory=list)


def hierarchy_order(paths: Mapping[int, Sequence[Sequence[str]]]) -> list[int]:
    """Class keys in the pre-order of the tree formed by their root→class paths ([[wnid, name], ...]).

    A class is listed when the walk reaches the last node of its path, before that node's
    descendants; children are visited sorted by (name, wnid). A class with an empty path comes last.
    """
    root = _Node("", "")
    orphans: list[int] = []
    for key, path in paths.items():
        if not path:
            orphans.append(key)
            continue
        node = root
        for wnid, name in path:
            node = node.children.setdefault(wnid, _Node(wnid, name))
        node.classes.append(key)
    order: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.extend(sorted(node.classes))
        stack.extend(sorted(node.children.values(), key=lambda n: (n.name.lower(), n.wnid), reverse=True))
    return order + sorted(orphans)


def ordered_classes(labels: Iterable[LabelClass]) -> list[LabelClass]:
    """The classes in hierarchy order (see hierarchy_order)."""
    by_index = {label.index: label for label in labels}
    return [by_index[i] for i in hierarchy_order({i: label.hypernyms for i, label in by_index.items()})]


def _shared_prefix(paths: list[Sequence[Sequence[str]]]) -> int:
    """How many leading path nodes every class shares (entity, physical entity, ...): not worth showing."""
    if not paths:
        return 0
    depth = 0
    for nodes in zip(*paths, strict=False):
        if any(node[0] != nodes[0][0] for node in nodes):
            break
        depth += 1
    return depth


def class_list(labels: Iterable[LabelClass], exemplar_counts: Mapping[str, int]) -> list[dict]:
    """The page's class list, in hierarchy order: one compact dict per class.

    i: index, w: wnid, n: name, s: other names, d: definition, a: ancestors (below the shared root
    levels, nearest last), x: number of example images.
    """
    ordered = ordered_classes(labels)
    skip = _shared_prefix([label.hypernyms[:-1] for label in ordered])
    return [
        {
            "i": label.index, "w": label.wnid, "n": label.name,
            "s": ", ".join(lemma for lemma in label.lemmas if lemma != label.name),
            "d": label.definition,
            "a": " / ".join(name for _, name in label.hypernyms[skip:-1]),
            "x": exemplar_counts.get(label.wnid, 0),
        }
        for label in ordered
    ]


# --- model ensemble -------------------------------------------------------------------------------


def ensemble_scores(predictions: Iterable[tuple[Sequence[int], Sequence[float]]]) -> dict[int, float]:
    """Label → sum over models of its probability (a label outside a model's top-k counts 0 there)."""
    scores: dict[int, float] = {}
    for labels, probs in predictions:
        for label, prob in zip(labels, probs, strict=False):
            scores[label] = scores.get(label, 0.0) + float(prob)
    return scores


def top_classes(scores: Mapping[int, float], k: int) -> list[int]:
    """The k best labels by ensemble score, ties broken by index."""
    return [label for label, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]]


def _predictions_by_image(image_ids: Iterable[int]) -> dict[int, list[tuple[list[int], list[float]]]]:
    rows: dict[int, list[tuple[list[int], list[float]]]] = {}
    for image_id, labels, probs in Prediction.objects.filter(image_id__in=list(image_ids)).order_by(
        "image_id", "model_name"
    ).values_list("image_id", "labels", "probs"):
        rows.setdefault(image_id, []).append((labels, probs))
    return rows


# --- page payload ---------------------------------------------------------------------------------


def is_practice(batch: Batch) -> bool:
    return bool(batch.options.get("practice"))


def prune_top_k(batch: Batch) -> int:
    return int(batch.options.get("prune_top_k") or DEFAULT_PRUNE_TOP_K)


def item_list(batch: Batch, items: Sequence[HitItem], image_url: Callable[[Image], str]) -> list[dict]:
    """One dict per HIT image: id, image address, the ensemble's top-K classes (for pruning the list).

    The pruned set is given in index order so it does not reveal the models' ranking. In practice
    mode the dict also carries the answer (original label) and the ensemble's top predictions.
    """
    predictions = _predictions_by_image(item.image_id for item in items)
    practice = is_practice(batch)
    payload = []
    for item in items:
        preds = predictions.get(item.image_id, [])
        scores = ensemble_scores(preds)
        entry = {"image": item.image_id, "src": image_url(item.image),
                 "top": sorted(top_classes(scores, prune_top_k(batch)))}
        if practice:
            original = item.image.original_label
            entry["answer"] = original.index if original else None
            entry["model"] = [
                [label, round(scores[label] / len(preds), 4)] for label in top_classes(scores, PRACTICE_MODEL_TOP)
            ]
        payload.append(entry)
    return payload


# --- answers --------------------------------------------------------------------------------------


def _labels(value: object, image: object, valid: set[int]) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise AnswerError(f"image {image}: 'labels' must be a list of class indices")
    if not 1 <= len(value) <= MAX_LABELS:
        raise AnswerError(f"image {image}: choose between 1 and {MAX_LABELS} labels (got {len(value)})")
    if len(set(value)) != len(value):
        raise AnswerError(f"image {image}: a label is chosen twice")
    unknown = [label for label in value if label not in valid]
    if unknown:
        raise AnswerError(f"image {image}: {unknown} are not classes of the taxonomy")
    return list(value)


def _seconds(value: object, image: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnswerError(f"image {image}: 'seconds' must be a number")
    if not 0 <= value <= MAX_SECONDS_PER_IMAGE:
        raise AnswerError(f"image {image}: 'seconds' must be between 0 and {MAX_SECONDS_PER_IMAGE}")
    return float(value)


def validate_answers(answers: object, image_ids: Iterable[int], valid: set[int]) -> dict[int, tuple[list[int], float]]:
    """image id → (labels in the annotator's order, seconds spent); every HIT image exactly once."""
    images = set(image_ids)
    if not isinstance(answers, list) or len(answers) > len(images):
        raise AnswerError(f"'answers' must be a list of at most {len(images)} objects (one per image)")
    checked: dict[int, tuple[list[int], float]] = {}
    for answer in answers:
        if not isinstance(answer, dict):
            raise AnswerError("each answer must be an object with image, labels and seconds")
        image = answer.get("image")
        if not isinstance(image, int) or isinstance(image, bool) or image not in images:
            raise AnswerError(f"image {image!r} is not in this HIT")
        if image in checked:
            raise AnswerError(f"image {image} is answered twice")
        checked[image] = (_labels(answer.get("labels"), image, valid), _seconds(answer.get("seconds"), image))
    missing = sorted(images - set(checked))
    if missing:
        raise AnswerError(f"images {missing} have no answer")
    return checked


def store_answers(assignment: Assignment, answers: object) -> int:
    """Validate and store one assignment's answers (caller holds the transaction); returns rows stored."""
    image_ids = HitItem.objects.filter(hit_id=assignment.hit_id).values_list("image_id", flat=True)
    valid = set(LabelClass.objects.values_list("index", flat=True))
    checked = validate_answers(answers, image_ids, valid)
    practice = is_practice(assignment.hit.batch)
    Label1000Response.objects.bulk_create([
        Label1000Response(assignment=assignment, image_id=image, labels=labels, practice=practice,
                          seconds_spent=seconds)
        for image, (labels, seconds) in sorted(checked.items())
    ])
    return len(checked)


# --- files ----------------------------------------------------------------------------------------


def export_table(dataset_id: int, worker: Callable[[str], str]) -> tuple[list[str], Iterator[tuple]]:
    """Columns and rows of the label1000 responses export (the import format); `worker` maps worker ids."""
    rows = (
        Label1000Response.objects.filter(image__dataset_id=dataset_id).order_by("id")
        .values_list("image__external_id", "image__original_label__index", "assignment__worker__external_id",
                     "labels", "practice", "seconds_spent")
        .iterator(chunk_size=5000)
    )
    columns = ["image", "original_label", "worker", "labels", "practice", "seconds"]
    return columns, ((image, original, worker(w), labels, practice, round(seconds, 3))
                     for image, original, w, labels, practice, seconds in rows)


def response_from_line(line: Mapping, valid: set[int]) -> tuple[list[int], bool, float]:
    """The (labels, practice, seconds) of one imported JSON line, checked like a submission."""
    image = line.get("image")
    labels = _labels(line.get("labels"), image, valid)
    practice = line.get("practice", False)
    if not isinstance(practice, bool):
        raise AnswerError(f"image {image}: 'practice' must be true or false")
    return labels, practice, _seconds(line.get("seconds"), image)
