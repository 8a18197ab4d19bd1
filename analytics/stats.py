"""Confidence intervals: closed-form Wilson intervals and seeded, vectorised bootstraps.

Every function is deterministic for a given seed, so figures recomputed from the same judgments are
identical. Bootstraps over images use multinomial counts over groups of identical images when
values are discrete (accuracies, SF counts) and a (B x n) index matrix otherwise, both drawn in
chunks of at most CHUNK_CELLS cells, so 50k images x 1000 resamples take well under a second.
"""

from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054
DEFAULT_RESAMPLES = 1000
CHUNK_CELLS = 4_000_000
MAX_GROUPS = 4096


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval (NaN when there is no data)."""

    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def wilson_interval(k: np.ndarray | int, n: np.ndarray | int, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (vectorised). n == 0 gives (0, 1)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    safe_n = np.where(n > 0, n, 1.0)
    p = k / safe_n
    z2 = z * z
    denom = 1.0 + z2 / safe_n
    centre = (p + z2 / (2 * safe_n)) / denom
    half = z * np.sqrt(p * (1 - p) / safe_n + z2 / (4 * safe_n * safe_n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def proportion(k: int, n: int) -> Estimate:
    """A proportion with its Wilson interval."""
    low, high = wilson_interval(k, n)
    value = k / n if n else float("nan")
    return Estimate(value, float(low), float(high), int(n))


def _chunks(resamples: int, width: int) -> list[int]:
    """Row counts of the chunks of a (resamples x width) draw, CHUNK_CELLS cells at most each."""
    rows = max(1, CHUNK_CELLS // max(width, 1))
    sizes = [rows] * (resamples // rows)
    if resamples % rows:
        sizes.append(resamples % rows)
    return sizes


def _percentile_estimate(value: float, draws: np.ndarray, n: int, level: float) -> Estimate:
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return Estimate(float(value), float("nan"), float("nan"), n)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Estimate(float(value), float(low), float(high), n)


def _group_counts(rows: np.ndarray, resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Bootstrap over images in multinomial form: images with identical rows are exchangeable, so
    a resample is fully described by how many draws fall in each group of identical rows.
    Returns the distinct rows (G x c) and chunks of (rows x G) counts."""
    groups, inverse = np.unique(rows, axis=0, return_inverse=True)
    freq = np.bincount(inverse.ravel(), minlength=groups.shape[0]) / rows.shape[0]
    n = rows.shape[0]
    return groups, [rng.multinomial(n, freq, size=size) for size in _chunks(resamples, groups.shape[0])]


def bootstrap_mean(
    values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.95
) -> Estimate:
    """Mean of per-image values with a percentile bootstrap interval over images.

    Few distinct values (accuracies, shares with a small denominator): multinomial counts per
    distinct value. Otherwise a (B x n) index matrix drawn in chunks.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    if np.unique(values).size <= MAX_GROUPS:
        groups, counts = _group_counts(values[:, None], resamples, rng)
        draws = np.concatenate([(c * groups[:, 0]).sum(axis=1) / n for c in counts])
    else:
        draws = np.concatenate(
            [values[rng.integers(0, n, size=(rows, n))].mean(axis=1) for rows in _chunks(resamples, n)]
        )
    return _percentile_estimate(values.mean(), draws, n, level)


def bootstrap_ratio(
    numerators: np.ndarray,
    denominators: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """sum(num) / sum(den) over images, resampling images; e.g. accuracy on a subset: num = correct
    and in the subset, den = in the subset. Resamples with an empty subset are dropped."""
    rows = np.column_stack([np.asarray(numerators, np.float64), np.asarray(denominators, np.float64)])
    total = rows[:, 1].sum() if rows.size else 0.0
    if rows.shape[0] == 0 or total == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), int(total))
    groups, counts = _group_counts(rows, resamples, np.random.default_rng(seed))
    draws = []
    for c in counts:
        num, den = (c * groups[:, 0]).sum(axis=1), (c * groups[:, 1]).sum(axis=1)
        draws.append(np.where(den > 0, num / np.where(den > 0, den, 1), np.nan))
    return _percentile_estimate(rows[:, 0].sum() / total, np.concatenate(draws), int(total), level)


def bootstrap_selection_frequency(
    n_selected: np.ndarray,
    n_shown: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Mean per-image selection frequency, resampling images and, within each image, its workers.

    Resampling the m binary answers of an image with replacement is a Binomial(m, SF) draw, and
    c copies of images with the same (k, m) sum to Binomial(c·m, k/m): one multinomial draw over
    the distinct (k, m) pairs and one binomial per pair give the exact two-level bootstrap.
    """
    k = np.asarray(n_selected, dtype=np.int64)
    m = np.asarray(n_shown, dtype=np.int64)
    keep = m > 0
    rows = np.column_stack([k[keep], m[keep]])
    n = rows.shape[0]
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    image_rng, worker_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    groups, counts = _group_counts(rows, resamples, image_rng)
    p = groups[:, 0] / groups[:, 1]
    draws = [(worker_rng.binomial(c * groups[:, 1], p) / groups[:, 1]).sum(axis=1) / n for c in counts]
    return _percentile_estimate((rows[:, 0] / rows[:, 1]).mean(), np.concatenate(draws), n, level)
