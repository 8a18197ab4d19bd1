"""The paper's analyses as plain functions over arrays (Tsipras et al. 2020, sections 4-5).

Inputs are the aggregates in array form (`DatasetArrays`, built by `analytics.loading` from the
database or by hand in tests). Outputs are small dataclasses holding the numbers; `analytics.report`
turns them into tables and charts. Labels are taxonomy indices; -1 means "none".
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from relabel.stats import (
    DEFAULT_RESAMPLES,
    Estimate,
    bootstrap_mean,
    bootstrap_ratio,
    bootstrap_selection_frequency,
    proportion,
)

NO_LABEL = -1
HISTOGRAM_BINS = 10


def unit_histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> list[int]:
    """Counts of values in [0, 1] over equal bins [0, .1), ..., [.9, 1]; exact at bin edges (0.6 → 6th bin)."""
    index = np.clip(np.floor(np.asarray(values, dtype=np.float64) * bins + 1e-9), 0, bins - 1).astype(np.int64)
    return np.bincount(index, minlength=bins).tolist()


@dataclass
class DatasetArrays:
    """One dataset's aggregates: images (position i), sparse SF rows, CLASSIFY results, model top-1."""

    image_ids: np.ndarray
    external_ids: list[str]
    original: np.ndarray
    sf_image: np.ndarray
    sf_label: np.ndarray
    sf_selected: np.ndarray
    sf_shown: np.ndarray
    has_classify: np.ndarray
    num_objects: np.ndarray
    num_annotators: np.ndarray
    main_label: np.ndarray
    main_votes: list[dict[int, int]]
    object_groups: list[list[list[int]]]
    main_object: np.ndarray
    original_object: np.ndarray
    top1: dict[str, np.ndarray] = field(default_factory=dict)
    superclass_of: dict[int, str] = field(default_factory=dict)
    label_names: dict[int, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.image_ids.size)


class SfLookup:
    """Vectorised (image position, label) → (n_selected, n_shown) over the sparse SF rows."""

    def __init__(self, data: DatasetArrays) -> None:
        self.width = int(max(data.sf_label.max(initial=0), data.original.max(initial=0)) + 1)
        keys = data.sf_image.astype(np.int64) * self.width + data.sf_label
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.selected = data.sf_selected[order].astype(np.int64)
        self.shown = data.sf_shown[order].astype(np.int64)

    def counts(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """n_selected and n_shown per pair; both 0 where no SF row exists (or label is -1)."""
        images = np.asarray(images, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        if self.keys.size == 0:
            return np.zeros(images.size, dtype=np.int64), np.zeros(images.size, dtype=np.int64)
        valid = (labels >= 0) & (labels < self.width)
        keys = images * self.width + np.where(valid, labels, 0)
        pos = np.clip(np.searchsorted(self.keys, keys), 0, self.keys.size - 1)
        found = valid & (self.keys[pos] == keys)
        return np.where(found, self.selected[pos], 0), np.where(found, self.shown[pos], 0)

    def sf(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """SF per pair, NaN where there is no SF row."""
        selected, shown = self.counts(images, labels)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(shown > 0, selected / np.where(shown > 0, shown, 1), np.nan)


def object_label_sets(groups: Sequence[Sequence[Sequence[int]]]) -> list[set[int]]:
    """Union of the labels of every object group, per image."""
    return [{label for group in image for label in group} for image in groups]


# 1. Objects per image -------------------------------------------------------------------------

@dataclass
class ObjectsPerImage:
    counts: dict[int, int]
    multi: Estimate


def objects_per_image(num_objects: np.ndarray) -> ObjectsPerImage:
    """Histogram of the number of distinct objects per image and the share with two or more."""
    num_objects = np.asarray(num_objects, dtype=np.int64)
    counts = Counter(int(k) for k in num_objects)
    return ObjectsPerImage(dict(sorted(counts.items())), proportion(int((num_objects >= 2).sum()), num_objects.size))


# 2. Co-occurring class pairs ------------------------------------------------------------------

@dataclass
class PairCooccurrence:
    a: int
    b: int
    n_both: int
    n_a: int
    n_b: int

    @property
    def p_b_given_a(self) -> float:
        return self.n_both / self.n_a

    @property
    def p_a_given_b(self) -> float:
        return self.n_both / self.n_b

    @property
    def probability(self) -> float:
        """The larger conditional: how often an image showing one class also shows the other."""
        return max(self.p_b_given_a, self.p_a_given_b)


def cooccurring_pairs(
    groups: Sequence[Sequence[Sequence[int]]], top: int = 20, min_count: int = 1
) -> list[PairCooccurrence]:
    """Class pairs found as *distinct* objects of one image, ranked by co-occurrence probability.

    n_a counts the images where class a is one of the objects; n_both the images where a and b
    belong to two different object groups. Each pair counts once per image.
    """
    present: Counter[int] = Counter()
    both: Counter[tuple[int, int]] = Counter()
    for image in groups:
        present.update({label for group in image for label in group})
        pairs = set()
        for first, second in combinations(image, 2):
            pairs.update((min(a, b), max(a, b)) for a in first for b in second if a != b)
        both.update(pairs)
    rows = [PairCooccurrence(a, b, n, present[a], present[b]) for (a, b), n in both.items() if n >= min_count]
    rows.sort(key=lambda r: (-r.probability, -r.n_both, r.a, r.b))
    return rows[:top]


# 3. Model accuracy on single- vs multi-object images ------------------------------------------

@dataclass
class ModelAccuracy:
    model: str
    top1_all: Estimate
    top1_single: Estimate
    top1_multi: Estimate
    multilabel: Estimate


def model_accuracy(
    top1: dict[str, np.ndarray],
    original: np.ndarray,
    num_objects: np.ndarray,
    object_labels: Sequence[set[int]],
    has_classify: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[ModelAccuracy]:
    """Top-1 accuracy (vs the original label) on single- and multi-object images, and multi-label
    accuracy (the prediction is any object's label), each with a bootstrap interval over images."""
    original = np.asarray(original)
    labelled = original != NO_LABEL
    classified = np.asarray(has_classify, dtype=bool) & labelled
    single = classified & (num_objects == 1)
    multi = classified & (num_objects >= 2)
    results = []
    for name, preds in sorted(top1.items()):
        correct = (preds == original) & labelled
        in_objects = np.array([p in labels for p, labels in zip(preds, object_labels, strict=True)])
        results.append(ModelAccuracy(
            name,
            bootstrap_ratio(correct, labelled, resamples, seed),
            bootstrap_ratio(correct & single, single, resamples, seed),
            bootstrap_ratio(correct & multi, multi, resamples, seed),
            bootstrap_ratio(in_objects & classified, classified, resamples, seed),
        ))
    return results


# 4. Human-label disagreement --------------------------------------------------------------------

@dataclass
class Disagreement:
    share_original_main: Estimate
    share_histogram: list[int]
    majority_elsewhere: list[int]
    n_multi: int


def human_label_disagreement(
    original: np.ndarray,
    main_votes: Sequence[dict[int, int]],
    num_annotators: np.ndarray,
    num_objects: np.ndarray,
    main_object: np.ndarray,
    original_object: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Disagreement:
    """On multi-object images: the share of workers who chose the original label as the main one,
    and the images (positions) whose majority main object is not the original label's object."""
    multi = np.flatnonzero((np.asarray(num_objects) >= 2) & (np.asarray(original) != NO_LABEL))
    shares = np.array([
        main_votes[i].get(int(original[i]), 0) / num_annotators[i] if num_annotators[i] else 0.0 for i in multi
    ])
    elsewhere = [int(i) for i in multi if original_object[i] < 0 or original_object[i] != main_object[i]]
    return Disagreement(bootstrap_mean(shares, resamples, seed), unit_histogram(shares), elsewhere, int(multi.size))


# 5. Label-validation bias ------------------------------------------------------------------------

@dataclass
class ValidationBias:
    at_least_half: np.ndarray
    at_least_equal: np.ndarray
    images: np.ndarray

    def histogram(self, counts: np.ndarray) -> dict[int, int]:
        return dict(sorted(Counter(int(c) for c in counts).items()))


def label_validation_bias(data: DatasetArrays) -> ValidationBias:
    """Per image with an SF for its original label: how many *other* labels reach SF ≥ ½·SF(original)
    and SF ≥ SF(original). Labels with SF 0 never count."""
    lookup = SfLookup(data)
    orig_sf = lookup.sf(np.arange(data.size), data.original)
    row_orig = orig_sf[data.sf_image]
    with np.errstate(invalid="ignore", divide="ignore"):
        row_sf = data.sf_selected / np.where(data.sf_shown > 0, data.sf_shown, 1)
    other = (data.sf_label != data.original[data.sf_image]) & (row_sf > 0) & ~np.isnan(row_orig)
    half = np.bincount(data.sf_image[other & (row_sf >= row_orig / 2)], minlength=data.size)
    equal = np.bincount(data.sf_image[other & (row_sf >= row_orig)], minlength=data.size)
    images = np.flatnonzero(~np.isnan(orig_sf))
    return ValidationBias(half[images], equal[images], images)


# 6. Confusing class pairs ------------------------------------------------------------------------

@dataclass
class ConfusingPair:
    a: int
    b: int
    n_both_valid: int
    n_images: int
    model_accuracy: dict[str, float]


def confusing_pairs(data: DatasetArrays, threshold: float = 0.5, top: int = 20) -> list[ConfusingPair]:
    """Pairs (original, other) that workers select as both valid (SF ≥ threshold) on images of
    either class; n_images counts the images whose original label is a or b, and each model's
    top-1 accuracy (vs the original label) is measured on those images."""
    with np.errstate(invalid="ignore", divide="ignore"):
        row_sf = data.sf_selected / np.where(data.sf_shown > 0, data.sf_shown, 1)
    valid = row_sf >= threshold
    img, lab = data.sf_image[valid], data.sf_label[valid]
    orig = data.original[img]
    orig_valid = {(int(i)) for i, lab_, o in zip(img, lab, orig, strict=True) if lab_ == o}
    pairs: Counter[tuple[int, int]] = Counter(
        (min(int(o), int(lab_)), max(int(o), int(lab_)))
        for i, lab_, o in zip(img, lab, orig, strict=True)
        if lab_ != o and o != NO_LABEL and int(i) in orig_valid
    )
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    results = []
    for (a, b), count in ranked:
        members = np.isin(data.original, [a, b])
        accuracy = {
            name: float((preds[members] == data.original[members]).mean()) for name, preds in sorted(data.top1.items())
        }
        results.append(ConfusingPair(a, b, count, int(members.sum()), accuracy))
    return results


# 7. Human-in-the-loop model evaluation --------------------------------------------------------

@dataclass
class ModelHumanEvaluation:
    model: str
    sf_prediction: Estimate
    sf_original: Estimate
    matches_main: Estimate
    wrong_sf_histogram: list[int]
    wrong_but_valid: Estimate


def human_in_the_loop(
    data: DatasetArrays, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, valid_threshold: float = 0.5
) -> list[ModelHumanEvaluation]:
    """Per model: mean SF of its top-1 vs of the original label (images and workers resampled),
    how often its top-1 is the CLASSIFY main label, and the SF distribution of the predictions
    that the original label counts as wrong."""
    lookup = SfLookup(data)
    positions = np.arange(data.size)
    orig_sel, orig_shown = lookup.counts(positions, data.original)
    classified = data.has_classify
    results = []
    for name, preds in sorted(data.top1.items()):
        sel, shown = lookup.counts(positions, preds)
        both = (shown > 0) & (orig_shown > 0)
        wrong = (preds != data.original) & (data.original != NO_LABEL) & (shown > 0)
        wrong_sf = sel[wrong] / shown[wrong]
        results.append(ModelHumanEvaluation(
            name,
            bootstrap_selection_frequency(sel[both], shown[both], resamples, seed),
            bootstrap_selection_frequency(orig_sel[both], orig_shown[both], resamples, seed),
            bootstrap_mean((preds == data.main_label)[classified], resamples, seed),
            unit_histogram(wrong_sf),
            proportion(int((wrong_sf >= valid_threshold).sum()), int(wrong_sf.size)),
        ))
    return results


# 8. Superclass matrices ----------------------------------------------------------------------------

@dataclass
class SuperclassMatrix:
    names: list[str]
    counts: np.ndarray


def _superclass_ids(labels: np.ndarray, superclass_of: dict[int, str], names: list[str]) -> np.ndarray:
    position = {name: i for i, name in enumerate(names)}
    return np.array([position.get(superclass_of.get(int(label), ""), -1) for label in labels], dtype=np.int64)


def superclass_names(superclass_of: dict[int, str]) -> list[str]:
    return sorted(set(superclass_of.values()))


def superclass_confusion(
    predictions: np.ndarray, main_label: np.ndarray, superclass_of: dict[int, str]
) -> SuperclassMatrix:
    """counts[i, j]: images whose model top-1 is in superclass i and human main label in j."""
    names = superclass_names(superclass_of)
    rows = _superclass_ids(predictions, superclass_of, names)
    cols = _superclass_ids(main_label, superclass_of, names)
    keep = (rows >= 0) & (cols >= 0)
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(counts, (rows[keep], cols[keep]), 1)
    return SuperclassMatrix(names, counts)


def superclass_cooccurrence(
    groups: Sequence[Sequence[Sequence[int]]], superclass_of: dict[int, str]
) -> SuperclassMatrix:
    """Symmetric counts of superclass pairs among distinct objects of one image (one per pair of
    objects; an object's superclass is that of its first label)."""
    names = superclass_names(superclass_of)
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    for image in groups:
        ids = _superclass_ids(np.array([g[0] for g in image if g]), superclass_of, names)
        for i, j in combinations(ids[ids >= 0], 2):
            counts[i, j] += 1
            if i != j:
                counts[j, i] += 1
    return SuperclassMatrix(names, counts)


# 9. Nearest neighbours -------------------------------------------------------------------------

@dataclass
class Neighbour:
    position: int
    similarity: float
    near_duplicate: bool


def nearest_neighbours(
    vectors: np.ndarray, query: int, k: int = 8, duplicate_threshold: float = 0.95
) -> list[Neighbour]:
    """The k images most cosine-similar to `query` (a row of `vectors`), excluding itself."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1)
    matrix = matrix / np.where(norms > 0, norms, 1)[:, None]
    similarity = matrix @ matrix[query]
    similarity[query] = -np.inf
    k = min(k, matrix.shape[0] - 1)
    if k <= 0:
        return []
    best = np.argpartition(-similarity, k - 1)[:k]
    best = best[np.argsort(-similarity[best], kind="stable")]
    return [Neighbour(int(i), float(similarity[i]), bool(similarity[i] >= duplicate_threshold)) for i in best]
