"""The real ImageNet samples: 1000 photographs, one per class, named <wnid>_<name>.JPEG."""

import pytest

from annotation.importer import import_images
from annotation.models import Image
from annotation.taxonomy import load_taxonomy
from tests.requirements import require_samples

pytestmark = [pytest.mark.django_db, pytest.mark.samples]


def test_importing_the_1000_samples_labels_each_by_its_wnid_prefix_and_a_rerun_adds_none():
    folder = require_samples(1000)
    load_taxonomy()
    first = import_images("samples", folder)
    assert first.imported == 1000 and not first.rejected
    pairs = Image.objects.values_list("external_id", "original_label__wnid", "original_label__index")
    for index, (external_id, wnid, label_index) in enumerate(sorted(pairs)):
        assert external_id.startswith(wnid + "_")
        assert label_index == index
    second = import_images("samples", folder)
    assert second.imported == 0 and len(second.skipped) == 1000
    assert Image.objects.count() == 1000
