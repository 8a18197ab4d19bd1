from django.core.management.base import BaseCommand, CommandError

from tasks.simulators.annotators import SimulationError, simulate


class Command(BaseCommand):
    help = "Answer a dataset's open CONTAINS or CLASSIFY HITs with simulated annotators (demo data)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--task", required=True, choices=["contains", "classify"])
        parser.add_argument("--workers", type=int, default=9)
        parser.add_argument("--accuracy", type=float, default=0.9)
        parser.add_argument("--noise", type=float, default=0.05)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        try:
            summary = simulate(options["dataset"], options["task"], options["workers"], options["accuracy"],
                               options["noise"], options["seed"])
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Simulated annotators submitted {summary.assignments} assignments on {summary.hits} "
            f"{options['task'].upper()} HITs of {options['dataset']}."
        )
