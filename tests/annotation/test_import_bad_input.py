import io
import os

import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage

from annotation.importer import ImportError_, import_images
from annotation.models import Image
from annotation.taxonomy import load_taxonomy
from tests.images import jpeg_bytes, write_image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _taxonomy():
    load_taxonomy()


def reasons(summary) -> dict[str, str]:
    return dict(summary.rejected)


def test_non_images_and_truncated_files_are_rejected_and_the_rest_imported(tmp_path):
    write_image(tmp_path / "n01440764_good.jpg")
    (tmp_path / "n01440764_text.jpg").write_text("hello")
    (tmp_path / "n01440764_cut.jpg").write_bytes(jpeg_bytes(size=(400, 400))[:600])
    summary = import_images("bad", tmp_path)
    assert summary.imported == 1
    got = reasons(summary)
    assert "not an image file" in got["n01440764_text.jpg"]
    assert "truncated" in got["n01440764_cut.jpg"] or "damaged" in got["n01440764_cut.jpg"]


def test_a_decompression_bomb_is_rejected(tmp_path, settings):
    settings.RELABEL_MAX_IMAGE_PIXELS = 1000
    write_image(tmp_path / "n01440764_bomb.jpg", size=(100, 100))
    summary = import_images("bomb", tmp_path)
    assert summary.imported == 0
    assert "over the limit of 1000" in reasons(summary)["n01440764_bomb.jpg"]


def test_svg_and_html_are_refused(tmp_path):
    (tmp_path / "n01440764_a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (tmp_path / "n01440764_b.png").write_text("<html><script>alert(1)</script></html>")
    summary = import_images("svg", tmp_path)
    got = reasons(summary)
    assert got["n01440764_a.svg"] == "not an image file name"
    assert "not an image file" in got["n01440764_b.png"]
    assert Image.objects.count() == 0


def test_cmyk_16bit_and_exif_rotated_images_are_handled(tmp_path):
    PILImage.new("CMYK", (40, 30), (0, 50, 100, 0)).save(tmp_path / "n01440764_cmyk.jpg")
    PILImage.new("I;16", (40, 30), 40000).save(tmp_path / "n01440764_deep.png")
    rotated = PILImage.new("RGB", (40, 30), (9, 9, 9))
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise on display
    rotated.save(tmp_path / "n01440764_rot.jpg", exif=exif)
    summary = import_images("modes", tmp_path)
    assert summary.imported == 3, summary.rejected
    rot = Image.objects.get(external_id="n01440764_rot.jpg")
    assert (rot.width, rot.height) == (30, 40)


def test_an_animated_gif_imports_with_its_first_frame(tmp_path):
    frames = [PILImage.new("RGB", (20, 20), (i * 60, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "n01440764_anim.gif", save_all=True, append_images=frames[1:])
    assert import_images("gif", tmp_path).imported == 1


def test_unknown_and_missing_labels_are_rejected_with_the_reason(tmp_path):
    write_image(tmp_path / "n99999999_unknown.jpg", (1, 1, 1))
    write_image(tmp_path / "nolabel.jpg", (2, 2, 2))
    got = reasons(import_images("labels", tmp_path))
    assert "unknown label 'n99999999'" in got["n99999999_unknown.jpg"]
    assert "no label" in got["nolabel.jpg"]


def test_symlinks_out_of_the_import_root_are_refused(tmp_path):
    outside = write_image(tmp_path / "outside" / "secret.jpg")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "n01440764_link.jpg")
    os.symlink(outside.parent, root / "n01440764")
    got = reasons(import_images("links", root))
    assert got["n01440764_link.jpg"] == "symlink points outside the import folder"
    assert got["n01440764"] == "symlink points outside the import folder"
    assert Image.objects.count() == 0


@pytest.mark.parametrize(
    "name, reason",
    [
        ("../outside.jpg", "'..' is not allowed"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("%2e%2e%2foutside.jpg", "file not found"),
        ("sub/..\\..\\outside.jpg", "'..' is not allowed"),
    ],
)
def test_csv_paths_cannot_escape_the_root(tmp_path, name, reason):
    write_image(tmp_path / "outside.jpg")
    root = tmp_path / "root"
    root.mkdir()
    labels = tmp_path / "labels.csv"
    labels.write_text(f"{name},0\n")
    summary = import_images("escape", root, labels)
    assert reason in reasons(summary)[name]
    assert Image.objects.count() == 0


def test_a_nul_byte_in_a_csv_name_is_refused(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("a\x00b.jpg,0\n")
    summary = import_images("nul", tmp_path, labels)
    assert "NUL byte" in summary.rejected[0][1]


def test_bad_dataset_names_and_folders_stop_the_import_with_a_clear_message(tmp_path):
    with pytest.raises(ImportError_, match="invalid dataset name"):
        import_images("../x", tmp_path)
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_images", str(tmp_path / "nope"), dataset="ok", no_progress=True)


def test_a_failed_import_changes_nothing_already_stored(tmp_path):
    write_image(tmp_path / "first" / "n01440764_a.jpg", (5, 5, 5))
    import_images("keep", tmp_path / "first")
    before = list(Image.objects.values_list("external_id", "sha256", "original_label"))
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "n01440764_a.jpg").write_bytes(io.BytesIO(b"garbage").getvalue())
    import_images("keep", tmp_path / "second")
    assert list(Image.objects.values_list("external_id", "sha256", "original_label")) == before
