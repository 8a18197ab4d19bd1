"""Import a folder of images with their original labels into a dataset.

Three layouts are understood:
- class folders named by wnid (ImageNet train/val layout): PATH/n01440764/xxx.JPEG
- a flat folder plus a CSV `filename,label` (--labels; label as index, wnid or class name)
- file names beginning with a wnid: PATH/n01440764_tench.JPEG

Each file is validated (format allow-list, pixel limit, complete decode) and stored under MEDIA_ROOT by
content hash, with a JPEG thumbnail. Re-running adds nothing: an external id (the path relative to PATH)
or content already in the dataset is skipped. One bad file never stops the import nor touches stored rows.
"""

import csv
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from tqdm import tqdm

from annotation.imagefiles import CheckedImage, ImageRejected, check_image
from annotation.models import Dataset, Image, LabelClass
from annotation.taxonomy import LabelResolver

WNID_PREFIX = re.compile(r"^(n\d{8})(?:[_\-. ]|$)")
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
MAX_FILE_BYTES = 200 * 1024 * 1024
OUTSIDE_LINK = "symlink points outside the import folder"
NOT_REGULAR = "not a regular file (a FIFO, device or socket): only image files are imported"


class ImportError_(Exception):
    """The import as a whole cannot run (bad dataset name, missing folder, unreadable labels file)."""


@dataclass
class ImportSummary:
    dataset: str
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def as_text(self) -> str:
        lines = [
            f"Dataset {self.dataset}: imported {self.imported}, "
            f"skipped {len(self.skipped)} (already imported or duplicate), rejected {len(self.rejected)}"
        ]
        lines += [f"  rejected {name}: {reason}" for name, reason in self.rejected]
        return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    """A file to import: where it is, its external id, and its label as written (or None)."""

    path: Path
    external_id: str
    raw_label: str | None


def import_images(
    dataset_name: str, path: Path, labels_file: Path | None = None, progress: bool = False
) -> ImportSummary:
    """Import every image under `path` into dataset `dataset_name` (created if needed)."""
    root = _checked_root(path)
    dataset = get_or_create_dataset(dataset_name)
    summary = ImportSummary(dataset.name)
    resolver = LabelResolver()
    if not len(resolver):
        raise ImportError_("the taxonomy is empty: run `python manage.py load_taxonomy` first")
    candidates = list(_discover(root, labels_file, summary))
    for candidate in tqdm(candidates, desc="Importing", unit="img", disable=not progress):
        _import_one(dataset, resolver, candidate, summary)
    return summary


def _checked_root(path: Path) -> Path:
    if "\x00" in str(path):
        raise ImportError_("the path contains a NUL byte")
    root = Path(path).resolve()
    if not root.is_dir():
        raise ImportError_(f"{path} is not a folder")
    return root


def get_or_create_dataset(name: str) -> Dataset:
    """The dataset of that name, created if new; ImportError_ if the name is not slug-safe."""
    if not DATASET_NAME.match(name or ""):
        raise ImportError_(
            f"invalid dataset name {name!r}: use letters, digits, '-' and '_' (at most 100), "
            "starting with a letter or digit"
        )
    dataset, _ = Dataset.objects.get_or_create(name=name)
    return dataset


def _discover(root: Path, labels_file: Path | None, summary: ImportSummary) -> Iterator[Candidate]:
    if labels_file is not None:
        yield from _from_labels_csv(root, labels_file, summary)
        return
    for file_path in _walk_files(root, summary):
        relative = file_path.relative_to(root).as_posix()
        problem = _unstorable_name(relative)
        if problem:
            summary.rejected.append((printable(relative), problem))
            continue
        yield Candidate(file_path, relative, _label_from_path(file_path.relative_to(root)))


def _walk_files(root: Path, summary: ImportSummary) -> Iterator[Path]:
    """Every regular image file under root, refusing symlinks that lead outside it."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(dirnames):
            link = here / name
            if link.is_symlink() and not _inside(link.resolve(), root):
                summary.rejected.append((link.relative_to(root).as_posix(), OUTSIDE_LINK))
        dirnames.sort()
        for name in sorted(filenames):
            file_path = here / name
            shown = printable(file_path.relative_to(root).as_posix())
            if file_path.suffix.lower() not in IMAGE_SUFFIXES:
                if not name.startswith("."):
                    summary.rejected.append((shown, "not an image file name"))
                continue
            if file_path.is_symlink() and not _inside(file_path.resolve(), root):
                summary.rejected.append((shown, OUTSIDE_LINK))
                continue
            problem = _not_regular(file_path)
            if problem:
                summary.rejected.append((shown, problem))
                continue
            yield file_path


def _label_from_path(relative: Path) -> str | None:
    for part in (relative.name, *(parent.name for parent in relative.parents)):
        match = WNID_PREFIX.match(part)
        if match:
            return match.group(1)
    return None


def _from_labels_csv(root: Path, labels_file: Path, summary: ImportSummary) -> Iterator[Candidate]:
    try:
        with open(labels_file, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportError_(f"cannot read labels file {labels_file}: {exc}") from exc
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["filename", "label"]:
        rows = rows[1:]
    for line_number, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            summary.rejected.append((f"{labels_file.name}:{line_number}", "expected two columns: filename,label"))
            continue
        name, raw_label = row[0].strip(), row[1].strip()
        problem = _unsafe_relative_name(name)
        file_path = root / name
        if problem is None and not _inside(file_path.resolve(), root):
            problem = "path leads outside the import folder"
        if problem is None and not file_path.exists():
            problem = "file not found"
        problem = problem or _not_regular(file_path) or _unstorable_name(Path(name).as_posix())
        if problem:
            summary.rejected.append((printable(name), problem))
            continue
        yield Candidate(file_path, Path(name).as_posix(), raw_label)


def _unsafe_relative_name(name: str) -> str | None:
    if not name:
        return "empty file name"
    if "\x00" in name:
        return "file name contains a NUL byte"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute paths are not allowed: give paths relative to the import folder"
    if ".." in re.split(r"[\\/]", name):
        return "'..' is not allowed in file names"
    return None


def printable(name: str) -> str:
    """A file name as it can be shown: bytes that are not UTF-8 become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _unstorable_name(relative: str) -> str | None:
    """Why the external id `relative` cannot be stored as it is, or None."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8: rename it (e.g. with convmv) and import again"
    if "\x00" in relative:
        return "file name contains a NUL byte"
    limit = Image._meta.get_field("external_id").max_length
    if len(relative) > limit:
        return (f"the path is {len(relative)} characters long, over the limit of {limit}: "
                "shorten its folder or file names")
    return None


def _not_regular(path: Path) -> str | None:
    """Why `path` is not a regular file (FIFOs block, devices never end), or None; never opens it."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    return None if stat.S_ISREG(mode) else NOT_REGULAR


def _inside(resolved: Path, root: Path) -> bool:
    return resolved == root or resolved.is_relative_to(root)


def _import_one(dataset: Dataset, resolver: LabelResolver, candidate: Candidate, summary: ImportSummary) -> None:
    """Import one file; whatever goes wrong with it is reported, stored rows and files stay as they were."""
    try:
        _import_checked(dataset, resolver, candidate, summary)
    except DatabaseError as exc:
        summary.rejected.append((candidate.external_id, f"the database refused the row ({exc})"))


def _import_checked(dataset: Dataset, resolver: LabelResolver, candidate: Candidate, summary: ImportSummary) -> None:
    name = candidate.external_id
    if Image.objects.filter(dataset=dataset, external_id=name).exists():
        summary.skipped.append((name, "already imported"))
        return
    try:
        label = _resolve_label(resolver, candidate.raw_label)
        checked = check_image(_read_limited(candidate.path))
    except (ImageRejected, KeyError, OSError) as exc:
        summary.rejected.append((name, exc.args[0] if exc.args else str(exc)))
        return
    same_content = Image.objects.filter(dataset=dataset, sha256=checked.sha256)
    duplicate = same_content.values_list("external_id", flat=True).first()
    if duplicate:
        summary.skipped.append((name, f"same content as {duplicate}"))
        return
    if _store(dataset, name, label, checked):
        summary.imported += 1
    else:
        summary.skipped.append((name, "already imported"))


def _resolve_label(resolver: LabelResolver, raw_label: str | None) -> LabelClass:
    if raw_label is None:
        raise KeyError("no label: put the file in a wnid folder, start its name with a wnid, or pass --labels FILE")
    return resolver.resolve(raw_label)


def _read_limited(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES. Opened without blocking and checked
    again once open, so that a file swapped for a FIFO or a device after the walk is refused too."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(NOT_REGULAR)
        if info.st_size > MAX_FILE_BYTES:
            raise OSError(f"file is {info.st_size} bytes, over the {MAX_FILE_BYTES} byte limit")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"file grew over the {MAX_FILE_BYTES} byte limit while being read")
    return data


def _store(dataset: Dataset, external_id: str, label: LabelClass, checked: CheckedImage) -> bool:
    """Write the content-addressed files, then the row. False if a concurrent import won the race.

    Files this call created are removed again if the row is not stored, whatever the reason, so that no
    file under MEDIA_ROOT is without its row.
    """
    image = Image(
        dataset=dataset, external_id=external_id, sha256=checked.sha256, size_bytes=len(checked.data),
        width=checked.width, height=checked.height, original_label=label,
    )
    created: list[str] = []
    try:
        image.file.name = _save_once(image.file.field.upload_to(image, f"x{checked.suffix}"), checked.data, created)
        image.thumbnail.name = _save_once(image.thumbnail.field.upload_to(image, "x.jpg"), checked.thumbnail, created)
        with transaction.atomic():
            image.save()
    except IntegrityError:
        _remove_unreferenced(created)
        return False
    except BaseException:
        _remove_unreferenced(created)
        raise
    return True


def _save_once(name: str, data: bytes, created: list[str]) -> str:
    """Content-addressed: the same bytes always land at the same name, written once (added to `created`)."""
    if default_storage.exists(name):
        return name
    saved = default_storage.save(name, ContentFile(data))
    created.append(saved)
    return saved


def _remove_unreferenced(names: list[str]) -> None:
    for name in names:
        if not Image.objects.filter(Q(file=name) | Q(thumbnail=name)).exists():
            default_storage.delete(name)
