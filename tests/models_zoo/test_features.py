import numpy as np

from models_zoo.features import decode_vectors, encode_vector, nearest_neighbours


def test_it_stores_normalised_float16_vectors():
    blob = encode_vector(np.array([3.0, 4.0, 0.0]))
    assert len(blob) == 6
    np.testing.assert_allclose(decode_vectors([blob], 3)[0], [0.6, 0.8, 0.0], atol=1e-3)


def test_it_ranks_neighbours_by_cosine_similarity():
    vectors = decode_vectors([encode_vector(np.array(v)) for v in ([1, 0], [0.9, 0.1], [0, 1], [-1, 0])], 2)
    result = nearest_neighbours(np.array([1.0, 0.0]), vectors, k=3)
    assert [row for row, _ in result] == [0, 1, 2]
    assert result[0][1] > result[1][1] > result[2][1]


def test_it_excludes_the_query_row_and_caps_k():
    vectors = decode_vectors([encode_vector(np.array(v)) for v in ([1, 0], [0.9, 0.1])], 2)
    assert [row for row, _ in nearest_neighbours(vectors[0], vectors, k=5, exclude=0)] == [1]
    assert nearest_neighbours(vectors[0], vectors[:0], k=5) == []
