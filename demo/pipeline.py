"""The `make demo` pipeline: bundled photos → candidates → CONTAINS → SF → CLASSIFY → results, then a
small local batch of each kind (CONTAINS, CLASSIFY, 1000-way) left for the demo annotator at /annotate/.

Each stage is skipped when its output already exists, so the demo can be re-run at any time.
Stages whose command is not installed (e.g. torch missing for candidates) are reported and skipped.
"""

import csv
import io
import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command, get_commands
from PIL import Image as PILImage
from PIL import ImageOps

from annotation.models import CandidateLabel, Dataset, Image
from tasks.models import Batch, Provider, TaskKind

DEMO_DATASET = "demo"
LOCAL_BATCH = "demo-annotator"
# Small batches for one person: few HITs of each kind, one answer each.
LOCAL_TASKS: dict[str, dict[str, object]] = {
    TaskKind.CONTAINS: {"grid": 24, "gold": 2, "max_hits": 5},
    TaskKind.CLASSIFY: {"per_hit": 5},
    TaskKind.LABEL1000: {"per_hit": 3, "limit": 6},
}
KIND_NAMES = {TaskKind.CONTAINS: "CONTAINS", TaskKind.CLASSIFY: "CLASSIFY", TaskKind.LABEL1000: "1000-way"}
SHOWN_WARNINGS = 3
BUNDLED_IMAGES = Path(settings.BASE_DIR) / "demo" / "images"
VARIANTS: dict[str, Callable[[PILImage.Image], PILImage.Image]] = {
    "": lambda image: image,
    "_mirror": ImageOps.mirror,
    "_centre": lambda image: ImageOps.crop(image, border=(image.width // 10, image.height // 10)),
    "_left": lambda image: image.crop((0, 0, image.width * 3 // 4, image.height * 3 // 4)),
    "_right": lambda image: image.crop((image.width // 4, image.height // 4, image.width, image.height)),
    "_right_mirror": lambda image: ImageOps.mirror(image.crop((image.width // 4, 0, image.width, image.height))),
}


def derive_demo_images(out_dir: Path) -> Path:
    """Write the bundled photos and their crops/mirrors to out_dir with a labels CSV; returns the CSV."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels_csv = out_dir / "labels.csv"
    with open(BUNDLED_IMAGES / "labels.csv", newline="") as handle:
        bundled = [row for row in csv.DictReader(handle)]
    rows = []
    for row in bundled:
        with PILImage.open(BUNDLED_IMAGES / row["filename"]) as photo:
            photo = photo.convert("RGB")
            for suffix, transform in VARIANTS.items():
                name = f"{Path(row['filename']).stem}{suffix}.jpg"
                transform(photo).save(out_dir / name, quality=90)
                rows.append((name, row["label"]))
    with open(labels_csv, "w", newline="") as handle:
        csv.writer(handle).writerows([("filename", "label"), *rows])
    return labels_csv


def ensure_user(username: str, staff: bool) -> str:
    """Create or reset a demo user; returns the fresh random password to print."""
    password = secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = staff
    user.set_password(password)
    user.save()
    return password


def run_demo(say: Callable[[str], None]) -> dict[str, str]:
    """Run every available stage on the demo dataset; returns the printed logins."""
    available = get_commands()

    def stage(title: str, command: str, done: bool, *args: str, **options: object) -> None:
        if done:
            say(f"· {title}: already done")
        elif command not in available:
            say(f"· {title}: skipped (command `{command}` is not installed)")
        else:
            say(f"· {title}")
            warnings = io.StringIO()
            call_command(command, *args, stderr=warnings, **options)
            _condense(warnings.getvalue(), say)

    call_command("migrate", verbosity=0)
    stage("Loading the ImageNet-1k taxonomy", "load_taxonomy", False)
    images_dir = Path(settings.VAR_DIR) / "demo-images"
    labels_csv = derive_demo_images(images_dir)
    stage("Importing the demo photographs", "import_images", False, str(images_dir),
          dataset=DEMO_DATASET, labels=str(labels_csv), no_progress=True)
    dataset = Dataset.objects.get(name=DEMO_DATASET)
    images = Image.objects.filter(dataset=dataset)
    stage("Proposing candidate labels with the model ensemble", "propose_candidates",
          CandidateLabel.objects.filter(image__in=images, is_original=False).exists(),
          dataset=DEMO_DATASET, sync=True)
    _crowd_stages(stage, dataset)
    publish_local_batches(dataset, say)
    return {"admin": ensure_user("admin", staff=True), "annotator": ensure_user("annotator", staff=False)}


def publish_local_batches(dataset: Dataset, say: Callable[[str], None]) -> dict[str, int]:
    """Build and publish a small local batch of each kind for the demo annotator (each once); returns the
    open HITs per kind. A kind the dataset cannot feed yet (e.g. no CLASSIFY follow-up image) is reported."""
    open_hits = {}
    for kind, options in LOCAL_TASKS.items():
        batches = Batch.objects.filter(dataset=dataset, kind=kind, name=LOCAL_BATCH, provider=Provider.LOCAL)
        try:
            if not batches.exists():
                call_command("create_hits", dataset=dataset.name, task=kind, provider=Provider.LOCAL, assignments=1,
                             reward="0", name=LOCAL_BATCH, stdout=io.StringIO(), stderr=io.StringIO(), **options)
            batch = batches.get()
            if batch.status == Batch.Status.DRAFT:
                call_command("publish_hits", batch=batch.pk, stdout=io.StringIO())
        except CommandError as exc:
            say(f"· A local {KIND_NAMES[kind]} batch for the demo annotator: skipped ({exc})")
            continue
        open_hits[kind] = batch.hits.count()
        say(f"· A local {KIND_NAMES[kind]} batch for the demo annotator: batch {batch.pk}, {open_hits[kind]} HITs")
    return open_hits


def _condense(warnings: str, say: Callable[[str], None]) -> None:
    """Show the first few warnings of a stage and count the rest (the tiny demo triggers many); the
    indented lines that explain them are always shown."""
    lines = warnings.strip().splitlines()
    explanation = [line for line in lines if line.startswith("  ")]
    lines = [line for line in lines if not line.startswith("  ")]
    for line in lines[:SHOWN_WARNINGS]:
        say(f"  {line}")
    if len(lines) > SHOWN_WARNINGS:
        say(f"  ... and {len(lines) - SHOWN_WARNINGS} more warnings like these")
    for line in explanation:
        say(f"  {line}")


def _crowd_stages(stage: Callable[..., None], dataset: Dataset) -> None:
    batches = Batch.objects.filter(dataset=dataset)
    stage("Building CONTAINS grids", "create_hits", batches.filter(kind=TaskKind.CONTAINS).exists(),
          dataset=DEMO_DATASET, task="contains", grid=12, assignments=9, gold=2, reward="0.10")
    stage("Simulated annotators answer the CONTAINS grids", "simulate_annotators",
          batches.filter(kind=TaskKind.CONTAINS, hits__assignments__isnull=False).exists(),
          dataset=DEMO_DATASET, task="contains")
    stage("Aggregating selection frequencies", "aggregate", False, dataset=DEMO_DATASET)
    stage("Building CLASSIFY tasks", "create_hits", batches.filter(kind=TaskKind.CLASSIFY).exists(),
          dataset=DEMO_DATASET, task="classify")
    stage("Simulated annotators answer the CLASSIFY tasks", "simulate_annotators",
          batches.filter(kind=TaskKind.CLASSIFY, hits__assignments__isnull=False).exists(),
          dataset=DEMO_DATASET, task="classify")
    stage("Aggregating CLASSIFY results", "aggregate", False, dataset=DEMO_DATASET)
