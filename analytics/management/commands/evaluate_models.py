import csv
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.model_report import ModelReport, build_model_report, table
from annotation.models import Dataset
from relabel.stats import DEFAULT_RESAMPLES, Estimate

SHOWN = ["top1", "top5", "multilabel", "main_label", "sf_top1", "sf_original"]


class Command(BaseCommand):
    help = "Judge every model with predictions on a dataset against the new labels (95 % bootstrap intervals)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts) -> None:
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}")
        if opts["resamples"] < 1:
            raise CommandError("--resamples must be at least 1")
        report = build_model_report(dataset, opts["resamples"], opts["seed"])
        if not report.models:
            raise CommandError(f"no predictions on {dataset.name!r}: run propose_candidates or import_predictions")
        if opts["format"] == "json":
            self.stdout.write(json.dumps(report.as_dict(), indent=1, allow_nan=False, default=str))
        elif opts["format"] == "csv":
            columns, rows = table(report)
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerows([columns, *rows])
        else:
            self._write_table(report)

    def _write_table(self, report: ModelReport) -> None:
        self.stdout.write(f"{'model':<28}{'images':>8}" + "".join(f"{name:>24}" for name in SHOWN))
        for model in report.models:
            cells = "".join(f"{_estimate(model.figures[name]):>24}" for name in SHOWN)
            self.stdout.write(f"{model.model[:27]:<28}{model.images:>8}{cells}")
        self.stdout.write(
            f"{report.classify_results} CLASSIFY results: {report.num_objects_tied} with tied objects, "
            f"{report.main_label_tied} with a tied main label. Full figures: --format json or csv"
        )


def _estimate(estimate: Estimate) -> str:
    if estimate.value != estimate.value:
        return "-"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"
