import hashlib

import pytest
from django.core.files.base import ContentFile

from annotation.models import Image
from tasks.models import Hit, HitItem, TaskKind
from tests.factories import BatchFactory, DatasetFactory, HitFactory, ImageFactory, LabelClassFactory, UserFactory
from tests.images import jpeg_bytes, write_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def hit():
    dataset = DatasetFactory()
    batch = BatchFactory(dataset=dataset, kind=TaskKind.LABEL1000)
    hit = HitFactory(batch=batch, status=Hit.Status.PUBLISHED)
    labeled = ImageFactory(dataset=dataset, sha256="f" * 64)
    HitItem.objects.create(hit=hit, image=labeled, position=0)
    return hit


@pytest.fixture
def folder(tmp_path, settings):
    root = tmp_path / "exemplars"
    write_image(root / "n00000001_tench.JPEG", (10, 200, 10))
    write_image(root / "n00000003" / "a.png", (10, 10, 200), size=(300, 200))
    (root / "n00000004_notes.txt").write_text("not an image")
    outside = write_image(tmp_path / "secret.jpg")
    (root / "n00000002_link.jpg").symlink_to(outside)
    settings.RELABEL_EXEMPLAR_DIR = str(root)
    return root


def get(client, hit, wnid, position=0):
    return client.get(f"/hit/{hit.pk}/exemplar/{wnid}/{position}/")


def test_it_serves_thumbnails_of_folder_images_by_wnid_and_position(client, hit, folder):
    first = get(client, hit, "n00000001")
    assert first.status_code == 200
    assert first["Content-Type"] == "image/jpeg" and first.content[:2] == b"\xff\xd8"
    assert get(client, hit, "n00000003").status_code == 200
    assert get(client, hit, "n00000001", 1).status_code == 404


def test_it_never_serves_anything_outside_the_folder_or_not_an_image(client, hit, folder):
    assert get(client, hit, "n00000002").status_code == 404  # symlink out of the folder
    assert get(client, hit, "n00000004").status_code == 404  # a text file
    for wnid in ["..", "..%2Fsecret.jpg", "n0000000", "secret"]:
        assert get(client, hit, wnid).status_code == 404
    assert client.get(f"/hit/{hit.pk}/exemplar/../../secret.jpg/0/").status_code == 404


def test_it_hides_a_folder_file_that_is_an_image_being_labeled(client, hit, folder):
    same = hashlib.sha256((folder / "n00000001_tench.JPEG").read_bytes()).hexdigest()
    Image.objects.filter(pk=hit.items.get().image_id).update(sha256=same)
    assert get(client, hit, "n00000001").status_code == 404


def test_it_falls_back_to_dataset_images_of_the_class_but_not_the_labeled_ones(client, hit, settings):
    settings.RELABEL_EXEMPLAR_DIR = ""
    tabby = LabelClassFactory(wnid="n02123045")
    labeled = Image.objects.get(pk=hit.items.get().image_id)
    labeled.original_label = tabby
    labeled.thumbnail.save("t.jpg", ContentFile(jpeg_bytes((1, 1, 1))))
    example = ImageFactory(dataset=hit.batch.dataset, original_label=tabby)
    example.thumbnail.save("e.jpg", ContentFile(jpeg_bytes((250, 250, 250))))
    response = get(client, hit, "n02123045")
    assert response.status_code == 200
    assert b"".join(response) == example.thumbnail.open("rb").read()
    assert get(client, hit, "n02123045", 1).status_code == 404


def test_it_serves_nothing_for_an_unpublished_hit_except_to_staff(client, hit, folder):
    hit.status = Hit.Status.DRAFT
    hit.save()
    assert get(client, hit, "n00000001").status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert get(client, hit, "n00000001").status_code == 200
