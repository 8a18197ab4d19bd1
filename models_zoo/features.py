"""Feature vectors for nearest-neighbour browsing (pure numpy).

ImageFeature rows hold L2-normalised float16 vectors, so cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode_vector(vector: np.ndarray) -> bytes:
    """L2-normalise `vector` and pack it as little-endian float16 bytes."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    if norm > 0:
        vector = vector / norm
    return vector.astype("<f2").tobytes()


def decode_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stack float16 blobs into an (n, dim) float32 matrix."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    matrix = np.frombuffer(b"".join(bytes(blob) for blob in blobs), dtype="<f2").reshape(len(blobs), dim)
    return matrix.astype(np.float32)


def nearest_neighbours(
    query: np.ndarray, vectors: np.ndarray, k: int = 10, exclude: int | None = None
) -> list[tuple[int, float]]:
    """The k rows of `vectors` most cosine-similar to `query`, as (row, similarity), best first.

    `vectors` rows are assumed L2-normalised (as stored); `exclude` drops one row (the query's own).
    """
    if vectors.size == 0 or k <= 0:
        return []
    query = np.asarray(query, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(query))
    similarities = vectors @ (query / norm if norm > 0 else query)
    if exclude is not None:
        similarities[exclude] = -np.inf
    count = min(k, len(similarities) - (exclude is not None))
    if count <= 0:
        return []
    top = np.argpartition(-similarities, count - 1)[:count]
    top = top[np.lexsort((top, -similarities[top]))]
    return [(int(row), float(similarities[row])) for row in top]
