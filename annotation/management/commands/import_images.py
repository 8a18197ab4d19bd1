from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.importer import ImportError_, import_images


class Command(BaseCommand):
    help = (
        "Import images with their original labels: wnid class folders, a flat folder with --labels CSV "
        "(filename,label), or file names starting with a wnid. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="folder holding the images")
        parser.add_argument("--dataset", required=True, help="dataset name (created if new)")
        parser.add_argument("--labels", type=Path, help="CSV with filename,label (index, wnid or class name)")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, **options) -> None:
        try:
            summary = import_images(
                options["dataset"], options["path"], options["labels"], progress=not options["no_progress"]
            )
        except ImportError_ as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary.as_text())
        self.stdout.write(f"Next: python manage.py propose_candidates --dataset {options['dataset']} "
                          "(or import_predictions with another model's predictions)")
