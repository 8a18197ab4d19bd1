import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Dataset
from models_zoo.prediction_import import PredictionImportError, import_predictions


class Command(BaseCommand):
    help = ("Import a model's top-k predictions on a dataset from JSONL, CSV or .npy (with --order); "
            "a re-import replaces that model's imported predictions.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--model", required=True, help="the model's name (its column in the evaluation)")
        parser.add_argument("--model-version", default="", help="optional version recorded with each prediction")
        parser.add_argument("file", type=Path, help=".jsonl, .csv, or .npy of shape (N, k) label indices")
        parser.add_argument("--order", type=Path, help="for .npy: one external image id per line, row order")

    def handle(self, *args, **opts) -> None:
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}: import its images first")
        started = time.perf_counter()
        try:
            summary = import_predictions(dataset, opts["model"], opts["file"], opts["order"], opts["model_version"])
        except PredictionImportError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"{summary.model} on {dataset.name}: {summary.images} images imported (top-{summary.topk}), "
            f"{summary.replaced} earlier predictions replaced ({seconds:.2f}s). "
            f"Next: manage.py evaluate_models --dataset {dataset.name}"
        )
