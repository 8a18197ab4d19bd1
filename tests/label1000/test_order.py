import random
from collections import defaultdict

import pytest

from annotation.models import LabelClass
from annotation.taxonomy import load_taxonomy
from label1000.services import class_list, hierarchy_order, ordered_classes

E, ANIMAL, VEHICLE = ["e", "entity"], ["a", "animal"], ["v", "vehicle"]
DOG = ["d", "dog"]
PATHS = {
    10: [E, ANIMAL, DOG, ["t", "terrier"]],
    11: [E, VEHICLE, ["c", "car"]],
    12: [E, ANIMAL, ["k", "cat"]],
    13: [E, ANIMAL, DOG, ["h", "hound"]],
    14: [E, ANIMAL, DOG],  # a class that is also an inner node: listed before its descendants
    15: [],
    16: [E, ["b", "Bicycle"]],  # sorted case-insensitively, between animal and vehicle
}


def test_it_walks_hand_built_paths_depth_first_with_sorted_children():
    assert hierarchy_order(PATHS) == [12, 14, 13, 10, 16, 11, 15]


def test_it_does_not_depend_on_the_input_order():
    keys = list(PATHS)
    random.Random(3).shuffle(keys)
    assert hierarchy_order({key: PATHS[key] for key in keys}) == hierarchy_order(PATHS)


def test_it_breaks_name_ties_by_wnid():
    paths = {1: [E, ["n2", "bank"]], 2: [E, ["n1", "bank"]]}
    assert hierarchy_order(paths) == [2, 1]


@pytest.mark.django_db
def test_it_keeps_every_subtree_of_the_real_taxonomy_contiguous():
    load_taxonomy()
    order = [label.index for label in ordered_classes(LabelClass.objects.all())]
    assert sorted(order) == list(range(1000))
    position = {index: at for at, index in enumerate(order)}
    under: dict[str, list[int]] = defaultdict(list)
    for label in LabelClass.objects.all():
        for wnid, _ in label.hypernyms:
            under[wnid].append(position[label.index])
    for wnid, places in under.items():
        assert max(places) - min(places) + 1 == len(places), f"classes under {wnid} are not contiguous"
    dogs = sorted(under["n02084071"])
    assert len(dogs) >= 118
    names = {label.index: label.name for label in LabelClass.objects.all()}
    assert {names[order[p]] for p in dogs} >= {"Chihuahua", "golden retriever", "Siberian husky"}


@pytest.mark.django_db
def test_it_lists_classes_with_names_definitions_ancestors_and_exemplar_counts():
    load_taxonomy()
    listed = class_list(LabelClass.objects.all(), {"n02099601": 2})
    golden = next(entry for entry in listed if entry["w"] == "n02099601")
    assert golden["n"] == "golden retriever" and golden["x"] == 2
    assert "dog" in golden["a"].split(" / ") and not golden["a"].startswith("entity")
    assert golden["d"]
    assert sum(entry["x"] for entry in listed) == 2
