"""A five-image dataset whose analyses are worked out by hand (see test_analyses.py)."""

import numpy as np

from analytics.analyses import DatasetArrays

SF_ROWS = [  # image position, label, n_selected, n_shown
    (0, 0, 8, 10), (0, 1, 4, 10), (0, 2, 9, 10),
    (1, 1, 10, 10), (1, 3, 2, 10),
    (2, 2, 6, 10), (2, 0, 6, 10),
    (3, 3, 0, 10), (3, 4, 9, 10),
    (4, 4, 5, 10),
]
SUPERCLASS_OF = {0: "A", 1: "A", 2: "B", 3: "B", 4: "C", 5: "C"}


def handmade() -> DatasetArrays:
    sf = np.array(SF_ROWS, dtype=np.int64)
    return DatasetArrays(
        image_ids=np.arange(100, 105),
        external_ids=[f"img{i}" for i in range(5)],
        original=np.array([0, 1, 2, 3, 4]),
        sf_image=sf[:, 0], sf_label=sf[:, 1], sf_selected=sf[:, 2], sf_shown=sf[:, 3],
        has_classify=np.array([True, True, True, False, True]),
        num_objects=np.array([2, 1, 2, 0, 3]),
        num_annotators=np.array([10, 10, 10, 0, 10]),
        main_label=np.array([2, 1, 2, -1, 4]),
        main_votes=[{2: 6, 0: 4}, {1: 10}, {2: 7, 0: 3}, {}, {4: 9, 1: 1}],
        object_groups=[[[0], [2]], [[1]], [[2], [0]], [], [[4], [0, 5], [1]]],
        main_object=np.array([1, 0, 0, -1, 0]),
        original_object=np.array([0, 0, 0, -1, 0]),
        top1={"m": np.array([0, 1, 0, 4, 5])},
        superclass_of=SUPERCLASS_OF,
    )
