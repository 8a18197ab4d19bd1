import hashlib

import pytest
from django.core.management import call_command

from annotation.importer import import_images
from annotation.models import Image
from annotation.taxonomy import load_taxonomy
from tests.images import write_image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _taxonomy():
    load_taxonomy()


def test_it_imports_wnid_class_folders(tmp_path):
    write_image(tmp_path / "n01440764" / "a.JPEG", (10, 20, 30))
    write_image(tmp_path / "n02123045" / "b.JPEG", (40, 50, 60), size=(300, 100))
    summary = import_images("train", tmp_path)
    assert summary.imported == 2 and not summary.rejected
    image = Image.objects.get(external_id="n02123045/b.JPEG")
    assert image.original_label.index == 281
    assert (image.width, image.height) == (300, 100)
    assert image.sha256 == hashlib.sha256((tmp_path / "n02123045" / "b.JPEG").read_bytes()).hexdigest()
    assert image.size_bytes == (tmp_path / "n02123045" / "b.JPEG").stat().st_size


def test_it_makes_a_jpeg_thumbnail_with_longest_side_256(tmp_path):
    from PIL import Image as PILImage

    write_image(tmp_path / "n01440764_big.jpg", size=(1024, 512))
    import_images("thumbs", tmp_path)
    image = Image.objects.get()
    with image.thumbnail.open("rb") as handle, PILImage.open(handle) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (256, 128)


def test_it_imports_a_flat_folder_with_a_labels_csv_by_index_wnid_or_name(tmp_path):
    write_image(tmp_path / "x.jpg", (1, 2, 3))
    write_image(tmp_path / "y.jpg", (4, 5, 6))
    write_image(tmp_path / "z.jpg", (7, 8, 9))
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,label\nx.jpg,0\ny.jpg,n02123045\nz.jpg,analog clock\n")
    summary = import_images("flat", tmp_path, labels)
    assert summary.imported == 3
    got = dict(Image.objects.values_list("external_id", "original_label__index"))
    assert got == {"x.jpg": 0, "y.jpg": 281, "z.jpg": 409}


def test_it_reads_the_label_from_a_wnid_file_name_prefix(tmp_path):
    write_image(tmp_path / "n01443537_goldfish.JPEG")
    import_images("prefix", tmp_path)
    assert Image.objects.get().original_label.wnid == "n01443537"


def test_a_second_run_adds_nothing(tmp_path):
    write_image(tmp_path / "n01440764" / "a.JPEG", (10, 20, 30))
    write_image(tmp_path / "n01440764" / "b.JPEG", (11, 21, 31))
    import_images("again", tmp_path)
    summary = import_images("again", tmp_path)
    assert summary.imported == 0 and len(summary.skipped) == 2
    assert Image.objects.count() == 2


def test_the_same_content_under_another_name_is_skipped_as_duplicate(tmp_path):
    write_image(tmp_path / "n01440764" / "a.JPEG", (10, 20, 30))
    write_image(tmp_path / "n01440764" / "copy.JPEG", (10, 20, 30))
    summary = import_images("dups", tmp_path)
    assert summary.imported == 1
    assert summary.skipped == [("n01440764/copy.JPEG", "same content as n01440764/a.JPEG")]


def test_the_command_prints_imported_skipped_and_rejected(tmp_path, capsys):
    write_image(tmp_path / "n01440764_a.jpg")
    (tmp_path / "n01440764_b.jpg").write_bytes(b"not an image")
    call_command("import_images", str(tmp_path), dataset="cmd", no_progress=True)
    out = capsys.readouterr().out
    assert "imported 1, skipped 0" in out and "rejected 1" in out
    assert "rejected n01440764_b.jpg: not an image file" in out

