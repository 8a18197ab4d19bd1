"""import_images takes regular files only, reports and skips every bad file, and leaves no orphan file.

A FIFO named x.jpg hung the import, a character device was read until MemoryError, and a non-UTF-8
file name or a path over 255 characters aborted the import with a traceback after its files were
written under MEDIA_ROOT.
"""

import os
import signal
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image as PILImage

from annotation.importer import import_images
from annotation.models import Image
from annotation.taxonomy import load_taxonomy
from tests.images import write_image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _taxonomy():
    load_taxonomy()


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


class Hangs(Exception):
    pass


def _raise_hangs(signum, frame):
    raise Hangs("the import hangs")


def _import_within(folder: Path, seconds: int = 60):
    """import_images, failing (instead of hanging the suite) if it does not return in time."""
    previous = signal.signal(signal.SIGALRM, _raise_hangs)
    signal.alarm(seconds)
    try:
        return import_images("special", folder)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _assert_no_orphans() -> None:
    stored = {name for row in Image.objects.values_list("file", "thumbnail") for name in row}
    on_disk = {path.relative_to(settings.MEDIA_ROOT).as_posix() for path in _media_files()}
    assert on_disk == stored


def test_a_fifo_named_like_an_image_is_skipped_not_waited_for(tmp_path):
    folder = tmp_path / "in"
    write_image(folder / "n01440764_good.jpg")
    os.mkfifo(folder / "n01440764_pipe.jpg")
    summary = _import_within(folder)
    assert summary.imported == 1
    assert "not a regular file" in dict(summary.rejected)["n01440764_pipe.jpg"]
    _assert_no_orphans()


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a character device needs root")
def test_a_character_device_is_skipped_not_read(tmp_path):
    folder = tmp_path / "in"
    write_image(folder / "n01440764_good.jpg")
    os.mknod(folder / "n01440764_zero.jpg", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero
    summary = _import_within(folder)
    assert summary.imported == 1
    assert "not a regular file" in dict(summary.rejected)["n01440764_zero.jpg"]


def test_a_non_utf8_name_and_an_overlong_path_are_reported_and_skipped(tmp_path):
    folder = tmp_path / "in"
    write_image(folder / "n01440764_good.jpg")
    write_image(Path(os.fsdecode(bytes(folder / "n01440764_caf") + b"\xe9.jpg")), color=(1, 2, 3))
    deep = folder / ("d" * 200) / ("n01440764_" + "x" * 60 + ".jpg")
    write_image(deep, color=(9, 9, 9))
    summary = _import_within(folder)
    reasons = dict(summary.rejected)
    assert summary.imported == 1
    assert "not valid UTF-8" in reasons["n01440764_caf\ufffd.jpg"]
    assert "over the limit of 255" in reasons[deep.relative_to(folder).as_posix()]
    assert "n01440764_caf\ufffd.jpg" in summary.as_text()
    _assert_no_orphans()


@pytest.fixture
def refusing_database():
    """A real database refusal of one row (a trigger), after its files are written."""
    table = Image._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                           "RAISE EXCEPTION 'refused by a trigger'; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW "
                           "WHEN (NEW.external_id LIKE '%boom%') EXECUTE FUNCTION refuse_boom()")
        else:
            cursor.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN NEW.external_id LIKE '%boom%' "
                           "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")


def test_a_row_the_database_refuses_leaves_no_file_behind(tmp_path, refusing_database):
    folder = tmp_path / "in"
    write_image(folder / "n01440764_good.jpg")
    write_image(folder / "n01440764_boom.jpg", color=(0, 200, 0))
    summary = _import_within(folder)
    assert summary.imported == 1 and list(Image.objects.values_list("external_id", flat=True)) == [
        "n01440764_good.jpg"]
    _assert_no_orphans()


def test_an_image_whose_decode_is_over_the_byte_limit_is_refused_before_decoding(tmp_path, settings):
    settings.RELABEL_MAX_IMAGE_DECODED_BYTES = 1_000_000
    folder = tmp_path / "in"
    folder.mkdir()
    PILImage.new("I;16", (600, 600)).save(folder / "n01440764_deep.png")  # 360,000 pixels, 720,000 bytes: fine
    PILImage.new("RGB", (600, 600), (3, 3, 3)).save(folder / "n01440764_wide.png")  # 1,080,000 bytes: refused
    summary = _import_within(folder)
    assert summary.imported == 1
    assert "decodes to 1080000 bytes" in dict(summary.rejected)["n01440764_wide.png"]
    _assert_no_orphans()
