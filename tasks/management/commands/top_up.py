"""Build HITs for the undecided items of an adaptive CONTAINS or CLASSIFY run (see tasks.top_up)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Dataset
from tasks.models import TaskKind
from tasks.top_up import DEFAULT_STEP, TopUpError, top_up


class Command(BaseCommand):
    help = "Ask more workers about the items adaptive redundancy still calls undecided (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--task", required=True, choices=[TaskKind.CONTAINS, TaskKind.CLASSIFY])
        parser.add_argument("--step", type=int, default=DEFAULT_STEP,
                            help="answers added to each undecided item in this round (capped at the maximum)")

    def handle(self, *args, **opts) -> None:
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}: import it with import_images first")
        try:
            result = top_up(dataset, opts["task"], opts["step"])
        except TopUpError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.plan.summary())
        for build in result.builds:
            verb = "created" if build.created else "already exists (same items), nothing created:"
            self.stdout.write(
                f"batch {build.batch.pk} {verb} {build.n_hits} HITs, {build.n_items} items, "
                f"{build.batch.assignments_per_hit} assignments each; total cost ${build.cost}. "
                f"Next: publish_hits --batch {build.batch.pk}"
            )
        if not result.builds:
            self.stdout.write("Nothing to top up now." + (
                " Every item is decided." if not result.plan.waiting else " Publish and collect the open HITs first."
            ))
