"""Judge any model against the new labels (Tsipras et al. 2020, figures 4, 6a, 10 and 11).

Pure, vectorised functions over `DatasetArrays` and each model's top-k predictions (an (n, k)
array of taxonomy indices in image order, -1 where the model has no prediction for an image).
A model is judged on the images it has a prediction for. Every figure has a 95 % percentile
bootstrap interval over images (relabel.stats); figures that depend on workers' answers (the
selection frequencies) resample each image's workers as well (see docs/model_evaluation.md).

Figures (names are the keys of `ModelEvaluation.figures`):
- top1, top5: the ImageNet (original) label is the top-1 / among the top-5 predictions;
- multilabel: the top-1 is the label of any object of the image (CLASSIFY images);
- main_label: the top-1 is the CLASSIFY main label (CLASSIFY images);
- top1_single, top1_multi: ImageNet top-1 on CLASSIFY images with one / several objects;
- sf_top1, sf_original: mean SF of the top-1 and of the ImageNet label, on the images where both
  were judged in CONTAINS (images and workers resampled);
- wrong_valid: share of the top-1 predictions wrong w.r.t. the ImageNet label (and judged) that
  workers nonetheless find valid (SF >= VALID_SF; images and workers resampled); their SF
  histogram is `wrong_sf_histogram`;
- top1_main_differs, main_main_differs: on CLASSIFY images whose main label is not the ImageNet
  label, agreement of the top-1 with the ImageNet label / with the main label.
"""

from dataclasses import dataclass, field

import numpy as np

from analytics.analyses import NO_LABEL, DatasetArrays, SfLookup, unit_histogram
from relabel.stats import (
    DEFAULT_RESAMPLES,
    Estimate,
    bootstrap_ratio,
    bootstrap_selection_frequency,
    bootstrap_share_at_least,
)

VALID_SF = 0.5
FIGURES = {
    "top1": "ImageNet top-1",
    "top5": "ImageNet top-5",
    "multilabel": "Multi-label accuracy",
    "main_label": "Main-label accuracy",
    "top1_single": "Top-1 on single-object images",
    "top1_multi": "Top-1 on multi-object images",
    "sf_top1": "Mean SF of the top-1 prediction",
    "sf_original": "Mean SF of the ImageNet label",
    "wrong_valid": "Wrong top-1 that workers find valid",
    "top1_main_differs": "Top-1 = ImageNet label, main label differs",
    "main_main_differs": "Top-1 = main label, main label differs",
}


@dataclass
class ModelEvaluation:
    model: str
    images: int
    figures: dict[str, Estimate]
    wrong_sf_histogram: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "model": self.model, "images": self.images,
            "figures": {name: _json_safe(estimate.as_dict()) for name, estimate in self.figures.items()},
            "wrong_sf_histogram": self.wrong_sf_histogram,
        }


def _json_safe(values: dict) -> dict:
    """NaN (no data) as None, which JSON can say."""
    return {key: None if isinstance(value, float) and value != value else value for key, value in values.items()}


class ObjectLabels:
    """Vectorised membership test: is `label` one of the object labels of image i (CLASSIFY groups)?"""

    def __init__(self, groups: list[list[list[int]]]) -> None:
        self.width = 1 + max((label for image in groups for group in image for label in group), default=0)
        pairs = [i * self.width + label for i, image in enumerate(groups) for group in image for label in group]
        self.keys = np.unique(np.asarray(pairs, dtype=np.int64))

    def contains(self, labels: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels, dtype=np.int64)
        valid = (labels >= 0) & (labels < self.width)
        keys = np.arange(labels.size, dtype=np.int64) * self.width + np.where(valid, labels, 0)
        if self.keys.size == 0:
            return np.zeros(labels.size, dtype=bool)
        pos = np.clip(np.searchsorted(self.keys, keys), 0, self.keys.size - 1)
        return valid & (self.keys[pos] == keys)


@dataclass
class Subsets:
    """Boolean masks over images shared by every model."""

    labelled: np.ndarray
    classified: np.ndarray
    single: np.ndarray
    multi: np.ndarray
    main_differs: np.ndarray


def subsets(data: DatasetArrays) -> Subsets:
    labelled = data.original != NO_LABEL
    classified = np.asarray(data.has_classify, dtype=bool)
    return Subsets(
        labelled=labelled,
        classified=classified,
        single=classified & labelled & (data.num_objects == 1),
        multi=classified & labelled & (data.num_objects >= 2),
        main_differs=classified & labelled & (data.main_label != data.original),
    )


def accuracy_figures(
    top: np.ndarray, data: DatasetArrays, masks: Subsets, objects: ObjectLabels, resamples: int, seed: int
) -> dict[str, Estimate]:
    """The label-agreement figures of one model (top: its (n, k) predictions)."""
    top1 = top[:, 0]
    predicted = top1 != NO_LABEL
    correct = top1 == data.original
    in_top5 = (top[:, :5] == data.original[:, None]).any(axis=1)
    matches_main = top1 == data.main_label

    def ratio(hit: np.ndarray, among: np.ndarray) -> Estimate:
        among = among & predicted
        return bootstrap_ratio(hit & among, among, resamples, seed)

    return {
        "top1": ratio(correct, masks.labelled),
        "top5": ratio(in_top5, masks.labelled),
        "multilabel": ratio(objects.contains(top1), masks.classified),
        "main_label": ratio(matches_main, masks.classified),
        "top1_single": ratio(correct, masks.single),
        "top1_multi": ratio(correct, masks.multi),
        "top1_main_differs": ratio(correct, masks.main_differs),
        "main_main_differs": ratio(matches_main, masks.main_differs),
    }


def selection_figures(
    top1: np.ndarray, data: DatasetArrays, lookup: SfLookup, resamples: int, seed: int
) -> tuple[dict[str, Estimate], list[int]]:
    """SF figures of one model: images and each image's workers resampled."""
    positions = np.arange(data.size)
    orig_sel, orig_shown = lookup.counts(positions, data.original)
    sel, shown = lookup.counts(positions, top1)
    both = (shown > 0) & (orig_shown > 0)
    wrong = (top1 != data.original) & (data.original != NO_LABEL) & (top1 != NO_LABEL) & (shown > 0)
    figures = {
        "sf_top1": bootstrap_selection_frequency(sel[both], shown[both], resamples, seed),
        "sf_original": bootstrap_selection_frequency(orig_sel[both], orig_shown[both], resamples, seed),
        "wrong_valid": bootstrap_share_at_least(sel[wrong], shown[wrong], VALID_SF, resamples, seed),
    }
    return figures, unit_histogram(sel[wrong] / shown[wrong])


def evaluate_models(
    data: DatasetArrays, topk: dict[str, np.ndarray], resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[ModelEvaluation]:
    """Every figure of every model, models sorted by name (see the module docstring)."""
    masks = subsets(data)
    objects = ObjectLabels(data.object_groups)
    lookup = SfLookup(data)
    results = []
    for name in sorted(topk):
        top = np.asarray(topk[name], dtype=np.int64).reshape(data.size, -1)
        figures = accuracy_figures(top, data, masks, objects, resamples, seed)
        sf_figures, histogram = selection_figures(top[:, 0], data, lookup, resamples, seed)
        figures.update(sf_figures)
        results.append(ModelEvaluation(name, int((top[:, 0] != NO_LABEL).sum()),
                                       {key: figures[key] for key in FIGURES}, histogram))
    return results
