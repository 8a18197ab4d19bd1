"""The large exports byte for byte: the same file on SQLite (Python writes it) and PostgreSQL (SQL writes it)."""

import pytest

from analytics.exports import sf_value, stream
from analytics.models import SelectionFrequency
from tasks.privacy import public_worker_id
from tests.factories import (
    AssignmentFactory,
    ClassifyResponseFactory,
    ContainsJudgmentFactory,
    DatasetFactory,
    ImageFactory,
    LabelClassFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db

ODD_IDS = ['a,b.jpg', 'say "cheese".jpg', "café/été.jpg", "tab\there\\.jpg", "line\nbreak.jpg"]


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="bytes")
    label, other = LabelClassFactory(index=3), LabelClassFactory(index=12)
    images = [ImageFactory(dataset=dataset, external_id=name, original_label=label) for name in ODD_IDS]
    images[-1].original_label = None
    images[-1].save()
    worker = WorkerFactory(external_id="Wörker,1")
    assignment = AssignmentFactory(worker=worker, hit__batch__dataset=dataset)
    for image, selected in zip(images[:2], (True, False), strict=True):
        ContainsJudgmentFactory(assignment=assignment, image=image, label=label, selected=selected)
    ClassifyResponseFactory(assignment=assignment, image=images[2], main_label=other, selected=[12, 3])
    ClassifyResponseFactory(assignment=assignment, image=images[4], main_label=label, selected=[3])
    SelectionFrequency.objects.bulk_create([
        SelectionFrequency(image=images[0], label=label, n_selected=1, n_shown=32),
        SelectionFrequency(image=images[0], label=other, n_selected=3, n_shown=3),
        SelectionFrequency(image=images[3], label=label, n_selected=2, n_shown=3),
        SelectionFrequency(image=images[4], label=other, n_selected=0, n_shown=0),
    ])
    return dataset


def _export(dataset, what: str, fmt: str, raw: bool = False) -> str:
    return "".join(stream(dataset, what, fmt, raw_worker_ids=raw))


def test_it_writes_selection_frequencies_identically_on_every_database(dataset):
    assert _export(dataset, "sf", "jsonl") == (
        '{"image": "a,b.jpg", "label": 3, "n_selected": 1, "n_shown": 32, "sf": 0.0313}\n'
        '{"image": "a,b.jpg", "label": 12, "n_selected": 3, "n_shown": 3, "sf": 1.0}\n'
        '{"image": "tab\\there\\\\.jpg", "label": 3, "n_selected": 2, "n_shown": 3, "sf": 0.6667}\n'
        '{"image": "line\\nbreak.jpg", "label": 12, "n_selected": 0, "n_shown": 0, "sf": 0.0}\n'
    )
    assert _export(dataset, "sf", "csv") == (
        "image,label,n_selected,n_shown,sf\n"
        '"a,b.jpg",3,1,32,0.0313\n"a,b.jpg",12,3,3,1.0\ntab\there\\.jpg,3,2,3,0.6667\n"line\nbreak.jpg",12,0,0,0.0\n'
    )


def test_it_writes_judgments_identically_on_every_database(dataset):
    worker = public_worker_id("Wörker,1")
    assert _export(dataset, "contains", "jsonl") == (
        f'{{"image": "a,b.jpg", "label": 3, "worker": "{worker}", "selected": true}}\n'
        f'{{"image": "say \\"cheese\\".jpg", "label": 3, "worker": "{worker}", "selected": false}}\n'
    )
    assert _export(dataset, "contains", "csv", raw=True) == (
        'image,label,worker,selected\n"a,b.jpg",3,"Wörker,1",True\n"say ""cheese"".jpg",3,"Wörker,1",False\n'
    )


def test_it_writes_classify_responses_identically_on_every_database(dataset):
    worker = public_worker_id("Wörker,1")
    assert _export(dataset, "classify_responses", "jsonl") == (
        f'{{"image": "café/été.jpg", "original_label": 3, "worker": "{worker}", "selected": [12, 3], "main": 12}}\n'
        f'{{"image": "line\\nbreak.jpg", "original_label": null, "worker": "{worker}", "selected": [3], "main": 3}}\n'
    )
    assert _export(dataset, "classify_responses", "csv") == (
        "image,original_label,worker,selected,main\n"
        f'café/été.jpg,3,{worker},"[12,3]",12\n"line\nbreak.jpg",,{worker},[3],3\n'
    )


def test_it_rounds_selection_frequencies_half_up_to_four_decimals():
    assert [sf_value(k, n) for k, n in [(1, 32), (1, 3), (2, 3), (0, 9), (9, 9), (0, 0), (1, 20000)]] == [
        0.0313, 0.3333, 0.6667, 0.0, 1.0, 0.0, 0.0001
    ]
