"""Human vs ConvNet top-1/top-5 error on the same images (after Russakovsky et al. 2015, section 6.4).

Pure functions over plain records: no database. A human "trial" is one non-practice 1000-way
answer; a model is scored once per image it has a prediction for. Each comparison restricts both
sides to the images that have a human answer and a prediction of that model.

Significance: a one-sided two-proportion z-test with the pooled standard error. The two samples
share images, so they are not independent; as in the study, the test is a guide, not a proof.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from relabel.stats import Z_95, Estimate, proportion, wilson_interval

HUMAN = "human"


@dataclass(frozen=True)
class Trial:
    """One answer (human or model) for one image: labels best first."""

    image: int
    labels: tuple[int, ...]


@dataclass(frozen=True)
class ZTest:
    """z = (p_a - p_b) / pooled SE; p_value is P(Z >= z): evidence that a's true rate exceeds b's."""

    z: float
    p_value: float


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal: P(Z >= z)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def two_proportion_z_test(k_a: int, n_a: int, k_b: int, n_b: int) -> ZTest:
    """One-sided test of H1: rate_a > rate_b, from k_a of n_a and k_b of n_b. NaN without data."""
    if n_a == 0 or n_b == 0:
        return ZTest(float("nan"), float("nan"))
    pooled = (k_a + k_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    diff = k_a / n_a - k_b / n_b
    if se == 0:  # both samples all errors or all correct: no difference to test
        return ZTest(0.0, 0.5)
    z = diff / se
    return ZTest(z, normal_sf(z))


def difference_interval(k_a: int, n_a: int, k_b: int, n_b: int, z: float = Z_95) -> Estimate:
    """rate_a - rate_b with Newcombe's hybrid score interval (his method 10, from the two Wilson intervals).

    Unlike the Wald interval it stays within [-1, 1] and keeps its coverage on the small samples a
    1000-way study has per model (Newcombe 1998, Statistics in Medicine 17: 873-890)."""
    if n_a == 0 or n_b == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    p_a, p_b = k_a / n_a, k_b / n_b
    low_a, high_a = (float(bound) for bound in wilson_interval(k_a, n_a, z))
    low_b, high_b = (float(bound) for bound in wilson_interval(k_b, n_b, z))
    diff = p_a - p_b
    return Estimate(
        diff,
        diff - math.hypot(p_a - low_a, high_b - p_b),
        diff + math.hypot(high_a - p_a, p_b - low_b),
        n_a + n_b,
    )


def is_error(truth: int, labels: Sequence[int], k: int) -> bool:
    """Top-k error: the true label is not among the first k labels."""
    return truth not in labels[:k]


def count_errors(trials: Iterable[Trial], truths: Mapping[int, int], k: int) -> tuple[int, int]:
    """(errors, trials) at top-k over the trials whose image has a known truth."""
    scored = [is_error(truths[t.image], t.labels, k) for t in trials if t.image in truths]
    return sum(scored), len(scored)


@dataclass(frozen=True)
class SideBySide:
    """Top-k error of humans and of one model on the same images, and the tests between them."""

    k: int
    human: Estimate
    model: Estimate
    difference: Estimate  # model - human
    model_worse: ZTest  # H1: the model's error is higher than the humans'
    human_worse: ZTest  # H1: the humans' error is higher than the model's


@dataclass(frozen=True)
class Comparison:
    model: str
    n_images: int
    n_human_trials: int
    top1: SideBySide
    top5: SideBySide


def _side_by_side(human: list[Trial], model: list[Trial], truths: Mapping[int, int], k: int) -> SideBySide:
    k_h, n_h = count_errors(human, truths, k)
    k_m, n_m = count_errors(model, truths, k)
    return SideBySide(
        k, proportion(k_h, n_h), proportion(k_m, n_m), difference_interval(k_m, n_m, k_h, n_h),
        two_proportion_z_test(k_m, n_m, k_h, n_h), two_proportion_z_test(k_h, n_h, k_m, n_m),
    )


def compare(
    human: Sequence[Trial], models: Mapping[str, Sequence[Trial]], truths: Mapping[int, int],
) -> list[Comparison]:
    """One comparison per model, on the images with a known truth, a human answer and that model's prediction."""
    answered = {t.image for t in human if t.image in truths}
    comparisons = []
    for name in sorted(models):
        predicted = {t.image: t for t in models[name] if t.image in answered}
        shared_human = [t for t in human if t.image in predicted]
        shared_model = list(predicted.values())
        comparisons.append(Comparison(
            name, len(predicted), len(shared_human),
            _side_by_side(shared_human, shared_model, truths, 1), _side_by_side(shared_human, shared_model, truths, 5),
        ))
    return comparisons


# --- error types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorRef:
    """A top-5 error to review: a human response (response id) or a model's prediction of an image."""

    source: str  # HUMAN or a model name
    image: int
    response: int | None = None


def top5_errors(
    human: Mapping[int, Trial], models: Mapping[str, Sequence[Trial]], truths: Mapping[int, int],
) -> list[ErrorRef]:
    """Every top-5 error: human responses (by response id) first, then each model's, on answered images."""
    errors = [ErrorRef(HUMAN, t.image, rid) for rid, t in sorted(human.items())
              if t.image in truths and is_error(truths[t.image], t.labels, 5)]
    answered = {t.image for t in human.values()}
    for name in sorted(models):
        errors += [ErrorRef(name, t.image) for t in sorted(models[name], key=lambda t: t.image)
                   if t.image in answered and t.image in truths and is_error(truths[t.image], t.labels, 5)]
    return errors


@dataclass
class Breakdown:
    """Per source (humans, each model): errors, how many were reviewed, and counts per error type.

    One error may have several types, so shares of reviewed errors can add up to more than 1.
    """

    sources: list[str]
    types: list[str]
    n_errors: dict[str, int] = field(default_factory=dict)
    n_reviewed: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # type → source → count

    def share(self, error_type: str, source: str) -> float:
        reviewed = self.n_reviewed.get(source, 0)
        return self.counts[error_type][source] / reviewed if reviewed else float("nan")


def error_breakdown(
    errors: Sequence[ErrorRef], tags: Mapping[ErrorRef, Iterable[str]], types: Sequence[str],
) -> Breakdown:
    """Count each error type per source over the reviewed errors (tags maps an error to its types)."""
    sources = [HUMAN] if any(e.source == HUMAN for e in errors) else []
    sources += sorted({e.source for e in errors} - {HUMAN})
    result = Breakdown(sources, list(types))
    result.counts = {t: dict.fromkeys(sources, 0) for t in types}
    for source in sources:
        result.n_errors[source] = result.n_reviewed[source] = 0
    for error in errors:
        result.n_errors[error.source] += 1
        chosen = set(tags.get(error, ())) & set(types)
        if chosen:
            result.n_reviewed[error.source] += 1
        for error_type in chosen:
            result.counts[error_type][error.source] += 1
    return result
