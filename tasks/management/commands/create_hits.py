"""`create_hits`: build a draft batch of HITs (thin wrapper over tasks.builders and label1000.builders)."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Dataset
from label1000 import builders as builders_label1000
from tasks.adaptive import AdaptiveError, AdaptiveSettings
from tasks.builders import (
    CATEGORIES_HELP,
    BuildError,
    BuildResult,
    ClassifyOptions,
    ContainsOptions,
    build_classify_batch,
    build_contains_batch,
    categorise_images,
)
from tasks.models import Provider, TaskKind
from tasks.pricing import fee_name

DEFAULT_ASSIGNMENTS = 9


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise CommandError(f"{value!r} is not an amount in dollars, e.g. 0.10") from exc


GOLD_WARNINGS_HELP = (
    "  Gold controls are tiles whose answer is known: other images of the class (must be selected) and of a\n"
    "  similar or distant class (must not be); workers who miss them are flagged. A class with too few such\n"
    "  images gets fewer gold tiles per grid and its workers are checked less: import more images, or lower --gold."
)


class Command(BaseCommand):
    help = "Build a draft batch of CONTAINS grids or CLASSIFY HITs for a dataset (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--task", required=True, choices=[TaskKind.CONTAINS, TaskKind.CLASSIFY, TaskKind.LABEL1000])
        parser.add_argument("--assignments", type=int, help="workers per HIT (default 9; not with --adaptive)")
        parser.add_argument("--reward", default="0.10", help="dollars per assignment")
        parser.add_argument("--provider", default=Provider.LOCAL,
                            choices=["local", "sandbox", "production", "simulator", "link"])
        parser.add_argument("--seed", type=int, default=0, help="shuffling seed (a new seed = a new batch)")
        parser.add_argument("--name", default="", help="batch name (a new name = a new batch)")
        parser.add_argument("--grid", type=int, default=48, help="CONTAINS: tiles per grid, gold included")
        parser.add_argument("--gold", type=int, default=4,
                            help="CONTAINS: gold tiles per grid, half known positives, half known negatives")
        parser.add_argument("--max-hits", type=int, default=0,
                            help="CONTAINS: build only the first N grids, e.g. a small trial batch (0: all)")
        parser.add_argument("--negatives", default="similar", choices=["similar", "distant"],
                            help="CONTAINS: known negatives from the most similar class or a distant superclass")
        parser.add_argument("--sf-ratio", type=float, default=0.5,
                            help="CLASSIFY: offer labels with SF >= ratio x SF(original label)")
        parser.add_argument("--min-workers", type=int, default=5,
                            help="CLASSIFY: images judged by fewer CONTAINS workers are 'amb'")
        parser.add_argument("--per-hit", type=int, default=10, help="CLASSIFY, LABEL1000: images per HIT")
        parser.add_argument("--adaptive", action="store_true",
                            help="CONTAINS, CLASSIFY: ask --min-assignments workers now, more later (top_up) "
                                 "only for undecided items")
        parser.add_argument("--min-assignments", type=int, default=3, help="--adaptive: workers per item at first")
        parser.add_argument("--max-assignments", type=int, default=9, help="--adaptive: workers per item at most")
        parser.add_argument("--alpha", type=float, default=0.05,
                            help="--adaptive: an item is decided when its decisions hold with probability >= 1 - alpha")
        builders_label1000.add_arguments(parser)

    def handle(self, *args, **opts) -> None:
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}: import it with import_images first")
        try:
            result = self._build(dataset, opts)
        except BuildError as exc:
            raise CommandError(str(exc)) from exc
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if result.warnings and opts["task"] == TaskKind.CONTAINS:
            self.stderr.write(GOLD_WARNINGS_HELP)
        verb = "created" if result.created else "already exists (same inputs), nothing created:"
        provider = result.batch.provider
        fee = f"plus {name}" if (name := fee_name(provider)) else f"no platform fee on {provider}"
        self.stdout.write(
            f"batch {result.batch.pk} {verb} {result.n_hits} HITs, {result.n_items} items, "
            f"{result.batch.assignments_per_hit} assignments each; total cost ${result.cost} "
            f"(reward ${result.batch.reward} per assignment, {fee})"
        )
        self.stdout.write(f"Next: python manage.py publish_hits --batch {result.batch.pk}  "
                          f"(publishes on {result.batch.provider}; --dry-run shows the cost first)")
        if opts["adaptive"]:
            self.stdout.write(
                f"Adaptive: once its answers are in, python manage.py top_up --dataset {dataset.name} "
                f"--task {opts['task']} builds HITs for the undecided items only"
            )

    def _adaptive(self, opts: dict) -> dict | None:
        if not opts["adaptive"]:
            return None
        if opts["task"] == TaskKind.LABEL1000:
            raise CommandError("--adaptive works for --task contains and classify, not label1000")
        if opts["assignments"] is not None:
            raise CommandError("--adaptive sets the workers per HIT itself: use --min-assignments, not --assignments")
        try:
            settings = AdaptiveSettings(opts["min_assignments"], opts["max_assignments"], opts["alpha"])
        except AdaptiveError as exc:
            raise CommandError(str(exc)) from exc
        if opts["task"] == TaskKind.CONTAINS:
            self.stderr.write(
                f"note: run aggregate and create_hits --task classify with --min-workers {settings.min_assignments} "
                f"or fewer: a pair decided after {settings.min_assignments} answers is ambiguous otherwise"
            )
        return settings.as_dict()

    def _build(self, dataset: Dataset, opts: dict) -> BuildResult:
        adaptive = self._adaptive(opts)
        if adaptive:
            assignments = adaptive["min_assignments"]
        else:
            assignments = DEFAULT_ASSIGNMENTS if opts["assignments"] is None else opts["assignments"]
        common = {
            "assignments": assignments, "reward": _decimal(opts["reward"]),
            "provider": opts["provider"], "seed": opts["seed"], "name": opts["name"],
        }
        if opts["task"] == TaskKind.LABEL1000:
            return builders_label1000.build_label1000_batch(dataset, builders_label1000.options_from(opts, common))
        common["adaptive"] = adaptive
        if opts["task"] == TaskKind.CONTAINS:
            options = ContainsOptions(grid=opts["grid"], gold=opts["gold"], negatives=opts["negatives"],
                                      max_hits=opts["max_hits"], **common)
            return build_contains_batch(dataset, options)
        options = ClassifyOptions(
            per_hit=opts["per_hit"], sf_ratio=opts["sf_ratio"], min_workers=opts["min_workers"], **common
        )
        summary = categorise_images(dataset, options.sf_ratio, options.min_workers)
        self.stdout.write(f"categories: {summary.counts_text()}\n{CATEGORIES_HELP}")
        return build_classify_batch(dataset, options, summary.follow_up)
