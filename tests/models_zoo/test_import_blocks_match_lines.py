"""A block of predictions is taken whole only when checking it line by line would give the same rows.

Each file is read twice: as the import reads it (whole-array checks, line by line only where those
cannot vouch for a block) and with the whole-array checks turned off. The rows kept, the problems
reported and the counts must be the same, for clean files and for every oddity the formats allow.
"""

import json

import numpy as np
import pytest

from models_zoo.prediction_checks import Checker, Context
from models_zoo.prediction_import import read_file
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db

IMAGES = ["a", "b", "c", "d", "7"]
TRICKY_FLOATS = [0.1, 0.30000000000000004, 2.2250738585072014e-308, 5e-324, 0.9999999999999999, 1e-05]

JSONL = {
    "clean": [{"image": name, "labels": [n, 5], "probs": [0.75, 0.25]} for n, name in enumerate(IMAGES)],
    "no probs": [{"image": name, "labels": [n]} for n, name in enumerate(IMAGES)],
    "null and empty probs": [{"image": "a", "labels": [1], "probs": None}, {"image": "b", "labels": [2], "probs": []}],
    "some probs": [{"image": "a", "labels": [1, 2], "probs": [0.5, 0.5]}, {"image": "b", "labels": [2, 3]}],
    "ragged top-k": [{"image": "a", "labels": [1, 2, 3]}, {"image": "b", "labels": [2]}, {"image": "c", "labels": [4]}],
    "wnids and digit strings": [{"image": "a", "labels": ["n00000003", "1"]},
                                {"image": "b", "labels": [2, "n00000004"]}],
    "an image twice, far apart": [{"image": name, "labels": [1]} for name in ["a", "b", "c", "d", "a", "7", "b"]],
    "a label twice": [{"image": "a", "labels": [1, 2]}, {"image": "b", "labels": [3, 3]}],
    "bad lines": ['{"image": "a", "labels": [1]}', "", "{oops", "[1, 2]", "   ", '{"image": "b", "labels": [2]}', ""],
    "extra keys": [{"image": "a", "labels": [1], "extra": {"x": 1}}, {"image": "b", "labels": [2], "probs": None}],
    "floats hard to round": [{"image": "a", "labels": [0, 1, 2, 3, 4, 5], "probs": TRICKY_FLOATS}],
}
# One odd line after a clean one: the block must not be taken whole unless the odd line is good as it is.
ODD_JSON_LINES = {
    "label true": {"labels": [True]}, "label 1.0": {"labels": [1.0]}, "label 10**30": {"labels": [10**30]},
    "label -1": {"labels": [-1]}, "label 9": {"labels": [9]}, "no labels": {"labels": []},
    "labels null": {"labels": None},
    "label '1'": {"labels": ["1"]}, "label list": {"labels": [[1]]}, "prob true": {"labels": [1], "probs": [True]},
    "prob '0.5'": {"labels": [1], "probs": ["0.5"]}, "prob 1.5": {"labels": [1], "probs": [1.5]},
    "prob nan": {"labels": [1], "probs": [float("nan")]}, "prob int": {"labels": [1], "probs": [1]},
    "two probs": {"labels": [1], "probs": [1, 0]}, "image 7": {"image": 7, "labels": [1]},
    "image zzz": {"image": "zzz", "labels": [1]}, "image ''": {"image": "", "labels": [1]},
    "image list": {"image": ["a"], "labels": [1]}, "no image": {"image": None, "labels": [1]},
    "image a again": {"image": "a", "labels": [1]},
}
JSONL.update({f"odd: {name}": [{"image": "a", "labels": [2]}, {"image": "b", **line}]
              for name, line in ODD_JSON_LINES.items()})

CSV = {
    "clean": "image,labels,probs\n" + "".join(f"{name},{n} 5,0.75 0.25\n" for n, name in enumerate(IMAGES)),
    "no probs column": "labels,image\n1 2,a\n3 4,b\n",
    "separators": 'image,labels,probs\na,1;2,0.5;0.5\nb,"1, 2",".5,  .5"\nc,1\t 2  ,1e-1 9e-1\n',
    "json lists": 'image,labels,probs\na,"[1, 2]","[0.5, 0.5]"\nb,"[3,4]",[1]\nc,"[""n00000003""]",\n',
    "json lists that are not": 'image,labels\na,[1 2]\nb,"[1], [2]"\nc,[1]\n',
    "empty separators": "image,labels,probs\na,\",1 2\",\nb,\"1 2;\",\nc,1 2,\" ;0.5 0.5\"\n",
    "some probs": "image,labels,probs\na,1 2,0.5 0.5\nb,1 2,\nc,3,0.25\n",
    "ragged and empty": "image,labels\na,1 2 3\nb,\nc,4\n",
    "short, long and blank rows": "image,labels,probs\na,1\n\nb,2,0.5,extra\nc,3,1\n,\n",
    "a newline in a cell": 'image,labels\na,"1\n2"\nb,\nc,3\n',
    "an image twice": "image,labels\na,1\nb,2\na,3\nc,4\nb,5\n",
    "repeated column": "image,labels,labels\na,1,2\nb,3,4\n",
    "floats hard to round": f"image,labels,probs\na,0 1 2 3 4 5,{' '.join(map(repr, TRICKY_FLOATS))}\n",
}
ODD_CSV_CELLS = {
    "labels": ["+1", "1.0", "\u00b2", "-1", "n00000002", "1 1", ",1", "1;", " ; 1", "1,,2", "[1 2]", "[1], [2]",
               "[true]", "[1.5]", "[]", "", " ", "1e0", "0x1", "99999999999999999999999"],
    "probs": ["nan", "1_0", "+.5", "1e-1", "-0", "2", ".", "1e", "0.5 0.5", "[0.5]", '["0.5"]', "[]", "", ";0.5",
              "0.5;"],
}
CSV.update({f"odd label cell {cell!r}": f'image,labels\na,1\nb,"{cell}"\n' for cell in ODD_CSV_CELLS["labels"]})
CSV.update({f"odd probs cell {cell!r}": f'image,labels,probs\na,1,0.5\nb,2,"{cell}"\n'
            for cell in ODD_CSV_CELLS["probs"]})

NPY = {
    "clean": (np.array([[1, 2], [3, 4], [5, 0]]), ["c", "a", "b"]),
    "uint8, one column": (np.array([1, 2, 3], dtype=np.uint8), ["a", "b", "c"]),
    "unknown labels": (np.array([[1, 9], [2, 3], [77, 78]]), ["a", "b", "c"]),
    "a label twice": (np.array([[1, 1], [2, 3]]), ["a", "b"]),
    "unknown and repeated images": (np.array([[1], [2], [3], [4]]), ["a", "zzz", "b", "a"]),
}


@pytest.fixture
def context():
    for index in range(6):
        LabelClassFactory(index=index)
    dataset = DatasetFactory(name="val")
    for name in IMAGES:
        ImageFactory(dataset=dataset, external_id=name)
    return Context(dataset)


def outcome(context: Context, path, order=None) -> tuple:
    blocks = []
    checker = Checker(context, blocks.append)
    read_file(path, checker, order)
    rows = sorted((int(image_id), labels.tolist(), probs.tolist()) for block in blocks
                  for image_id, labels, probs in zip(block.image_ids, block.labels, block.probs, strict=True))
    return rows, checker.errors, checker.error_count, checker.count, checker.topk


def test_probabilities_are_kept_to_the_last_bit(context, tmp_path):
    for name, text in (("p.jsonl", json.dumps(JSONL["floats hard to round"][0]) + "\n"),
                       ("p.csv", CSV["floats hard to round"])):
        (tmp_path / name).write_text(text)
        rows = outcome(context, tmp_path / name)[0]
        assert rows[0][2] == TRICKY_FLOATS


def both_ways(context: Context, monkeypatch, path, order=None) -> tuple[tuple, tuple]:
    as_imported = outcome(context, path, order)
    with monkeypatch.context() as patched:
        patched.setattr(Checker, "block", lambda *args: False)
        return as_imported, outcome(context, path, order)


@pytest.fixture(params=[2, 1000], ids=["blocks of 2", "one block"])
def block_rows(request, monkeypatch):
    monkeypatch.setattr("models_zoo.prediction_files.BLOCK_ROWS", request.param)


@pytest.mark.parametrize("case", JSONL)
def test_jsonl_blocks_match_lines(case, context, block_rows, monkeypatch, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in JSONL[case]))
    as_imported, line_by_line = both_ways(context, monkeypatch, path)
    assert as_imported == line_by_line


@pytest.mark.parametrize("case", CSV)
def test_csv_blocks_match_lines(case, context, block_rows, monkeypatch, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(CSV[case])
    as_imported, line_by_line = both_ways(context, monkeypatch, path)
    assert as_imported == line_by_line


@pytest.mark.parametrize("case", NPY)
def test_npy_blocks_match_lines(case, context, block_rows, monkeypatch, tmp_path):
    array, names = NPY[case]
    np.save(tmp_path / "p.npy", array)
    (tmp_path / "order.txt").write_text("\n".join(names) + "\n")
    as_imported, line_by_line = both_ways(context, monkeypatch, tmp_path / "p.npy", tmp_path / "order.txt")
    assert as_imported == line_by_line


def test_clean_files_are_taken_in_whole_blocks(context, monkeypatch, tmp_path):
    """The fast way is the way clean files go: no row of these is checked line by line."""
    monkeypatch.setattr(Checker, "records", lambda self, records: pytest.fail(f"checked line by line: {list(records)}"))
    for name, text in (("p.jsonl", "".join(json.dumps(row) + "\n" for row in JSONL["clean"])),
                       ("p.csv", CSV["clean"]), ("q.csv", CSV["separators"]), ("r.csv", CSV["no probs column"])):
        (tmp_path / name).write_text(text)
        assert outcome(context, tmp_path / name)[3] > 0
    np.save(tmp_path / "p.npy", NPY["clean"][0])
    (tmp_path / "order.txt").write_text("c\na\nb\n")
    assert outcome(context, tmp_path / "p.npy", tmp_path / "order.txt")[3] == 3
