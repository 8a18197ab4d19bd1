from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.importer import ImportError_, get_or_create_dataset
from annotation.models import Dataset
from annotation.response_import import ResponseImportError, import_responses
from label1000.importer import import_label1000
from tasks.models import TaskKind

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = "Import CONTAINS, CLASSIFY or 1000-way responses gathered elsewhere from a JSON Lines file (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--task", required=True, choices=[TaskKind.CONTAINS, TaskKind.CLASSIFY, TaskKind.LABEL1000])
        parser.add_argument("file", type=Path)
        parser.add_argument("--create-missing-images", action="store_true",
                            help="create file-less images for unknown ids (with the line's original_label)")
        parser.add_argument("--create-dataset", action="store_true", help="create the dataset if it does not exist")

    def handle(self, *args, **opts) -> None:
        name = opts["dataset"]
        if opts["create_dataset"]:
            try:
                dataset = get_or_create_dataset(name)
            except ImportError_ as exc:
                raise CommandError(str(exc)) from exc
        else:
            dataset = Dataset.objects.filter(name=name).first()
        if dataset is None:
            raise CommandError(f"no dataset named {name!r}: import its images first, or pass --create-dataset")
        try:
            importer = import_label1000 if opts["task"] == TaskKind.LABEL1000 else import_responses
            report = importer(dataset, opts["file"], opts["task"], opts["create_missing_images"])
        except ResponseImportError as exc:
            raise CommandError(str(exc)) from exc
        for message in report.errors[:SHOWN_ERRORS]:
            self.stderr.write(message)
        if report.error_count > SHOWN_ERRORS:
            self.stderr.write(f"... and {report.error_count - SHOWN_ERRORS} more bad lines")
        self.stdout.write(
            f"{report.lines} lines: {report.imported} responses imported, {report.duplicates} already present, "
            f"{report.error_count} skipped; {report.created_images} images created"
        )
