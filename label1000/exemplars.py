"""Example images for each class of the 1000-way labeling page.

Sources, in order: a configured exemplar folder (settings.RELABEL_EXEMPLAR_DIR, files named
`<wnid>*.<image suffix>` or inside a `<wnid>/` subfolder), then the dataset's own images of that
class. Never shown as an example: an image that is itself being labeled in a 1000-way HIT of the
dataset (same row or, for folder files, same content), which would give the answer away.

Files are looked up by (wnid, position) only, never by a path from the request, and a folder
entry whose real location is outside the folder (a symlink out) is ignored.
"""

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotation.imagefiles import CONTENT_TYPES, ImageRejected, check_image
from annotation.models import Dataset, Image, LabelClass
from tasks.models import HitItem, TaskKind

EXEMPLARS_PER_CLASS = 3
WNID = re.compile(r"n\d{8}")
THUMBNAIL_DIR = "label1000-exemplars"


class NoExemplar(LookupError):
    """There is no such example image."""


@dataclass(frozen=True)
class FolderFile:
    path: Path
    sha256: str


def exemplar_folder() -> Path | None:
    configured = str(getattr(settings, "RELABEL_EXEMPLAR_DIR", "") or "")
    folder = Path(configured) if configured else None
    return folder.resolve() if folder is not None and folder.is_dir() else None


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(folder) and path.is_file()
    except OSError:
        return False


def _candidates(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for entry in sorted(folder.iterdir()):
        match = WNID.match(entry.name)
        if match is None:
            continue
        files = sorted(entry.iterdir()) if entry.is_dir() and entry.name == match.group() else [entry]
        found += [(match.group(), path) for path in files if path.suffix.lower() in CONTENT_TYPES]
    return [(wnid, path) for wnid, path in found if _inside(path, folder)]


@lru_cache(maxsize=4)
def _folder_index(folder: Path, mtime_ns: int) -> dict[str, tuple[FolderFile, ...]]:
    """wnid → its example files, hashed once per folder version (the mtime is part of the cache key)."""
    index: dict[str, list[FolderFile]] = {}
    for wnid, path in _candidates(folder):
        index.setdefault(wnid, []).append(FolderFile(path, hashlib.sha256(path.read_bytes()).hexdigest()))
    return {wnid: tuple(files) for wnid, files in index.items()}


def folder_index() -> dict[str, tuple[FolderFile, ...]]:
    folder = exemplar_folder()
    return _folder_index(folder, folder.stat().st_mtime_ns) if folder else {}


def _labeled_images(dataset: Dataset) -> set[int]:
    return set(
        HitItem.objects.filter(hit__batch__dataset=dataset, hit__batch__kind=TaskKind.LABEL1000)
        .values_list("image_id", flat=True)
    )


def _folder_files(wnid: str, hidden_sha: set[str]) -> list[FolderFile]:
    return [f for f in folder_index().get(wnid, ()) if f.sha256 not in hidden_sha][:EXEMPLARS_PER_CLASS]


def _hidden_sha(labeled: set[int]) -> set[str]:
    return set(Image.objects.filter(pk__in=labeled).exclude(sha256="").values_list("sha256", flat=True))


def exemplar_counts(dataset: Dataset) -> dict[str, int]:
    """wnid → how many example images the page can show for that class (at most EXEMPLARS_PER_CLASS)."""
    labeled = _labeled_images(dataset)
    hidden = _hidden_sha(labeled)
    in_folder = folder_index()
    counts = {wnid: len(_folder_files(wnid, hidden)) for wnid in in_folder}
    rows = (
        Image.objects.filter(dataset=dataset, original_label__isnull=False)
        .exclude(thumbnail="").exclude(pk__in=labeled)
        .values_list("original_label__wnid", flat=True)
    )
    for wnid in rows.iterator(chunk_size=5000):
        if counts.get(wnid, 0) < EXEMPLARS_PER_CLASS and wnid not in in_folder:
            counts[wnid] = counts.get(wnid, 0) + 1
    return {wnid: count for wnid, count in counts.items() if count}


def exemplar_bytes(dataset: Dataset, wnid: str, position: int) -> bytes:
    """The JPEG thumbnail of example `position` of class `wnid`, or NoExemplar."""
    if not WNID.fullmatch(wnid) or not 0 <= position < EXEMPLARS_PER_CLASS:
        raise NoExemplar(wnid)
    labeled = _labeled_images(dataset)
    if wnid in folder_index():
        files = _folder_files(wnid, _hidden_sha(labeled))
        if position >= len(files):
            raise NoExemplar(wnid)
        return _folder_thumbnail(files[position])
    label = LabelClass.objects.filter(wnid=wnid).first()
    images = (
        Image.objects.filter(dataset=dataset, original_label=label).exclude(thumbnail="")
        .exclude(pk__in=labeled).order_by("pk")
    )
    image = images[position:position + 1].first() if label else None
    if image is None:
        raise NoExemplar(wnid)
    with image.thumbnail.open("rb") as handle:
        return handle.read()


def _folder_thumbnail(file: FolderFile) -> bytes:
    """A folder file's thumbnail, made once and kept in media storage under its content hash."""
    name = f"{THUMBNAIL_DIR}/{file.sha256[:2]}/{file.sha256}.jpg"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    try:
        thumbnail = check_image(file.path.read_bytes()).thumbnail
    except (ImageRejected, OSError) as exc:
        raise NoExemplar(str(file.path.name)) from exc
    default_storage.save(name, ContentFile(thumbnail))
    return thumbnail
