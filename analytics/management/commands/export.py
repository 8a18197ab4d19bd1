from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import label_export
from analytics.exports import EXPORTS, FORMATS, stream
from annotation.models import Dataset

# `responses` is the CONTAINS judgments (the import_responses format).
ALIASES = {"responses": "contains"}


class Command(BaseCommand):
    help = "Export a dataset's candidates, selection frequencies, categories, responses or CLASSIFY results."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--what", required=True, choices=sorted({*EXPORTS, *ALIASES, "labels"}),
                            help="labels: the new labels, ReaL-style (--format json) or one rich row per image (jsonl)")
        parser.add_argument("--format", default="jsonl", choices=sorted({*FORMATS, *label_export.LABEL_FORMATS}))
        parser.add_argument("--out", help="file to write (default: standard output)")
        parser.add_argument("--raw-worker-ids", action="store_true",
                            help="write the providers' worker ids instead of salted pseudonyms")

    def handle(self, *args, **opts) -> None:
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}")
        what = ALIASES.get(opts["what"], opts["what"])
        blocks = self._blocks(dataset, what, opts)
        if not opts["out"]:
            for block in blocks:
                self.stdout.write(block, ending="")
            return
        try:
            with open(opts["out"], "w", encoding="utf-8", newline="") as handle:
                for block in blocks:
                    handle.write(block)
        except OSError as exc:
            raise CommandError(f"cannot write {opts['out']}: {exc}") from exc
        self.stderr.write(f"wrote {what} of {dataset.name} to {opts['out']}")

    def _blocks(self, dataset: Dataset, what: str, opts: dict):
        fmt = opts["format"]
        if what == "labels":
            if fmt not in label_export.LABEL_FORMATS:
                raise CommandError("--what labels is written as --format json (ReaL-style) or jsonl")
            return label_export.stream(dataset, fmt)
        if fmt not in FORMATS:
            raise CommandError(f"--what {what} is written as --format {' or '.join(FORMATS)}")
        return stream(dataset, what, fmt, raw_worker_ids=opts["raw_worker_ids"])
