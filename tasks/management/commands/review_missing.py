"""Decide on work the platform says was submitted but whose answers never reached us: approve or reject it."""

from django.core.management.base import BaseCommand, CommandError

from tasks import services
from tasks.models import Batch


class Command(BaseCommand):
    help = (
        "List the submissions of --batch that have no stored answer; --approve pays them, --reject refuses them "
        "(with --feedback, or a standard apology). Left alone, MTurk approves them after the auto-approval delay."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, required=True)
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--approve", action="store_true", help="Pay them all")
        decision.add_argument("--reject", action="store_true", help="Reject them all")
        parser.add_argument("--feedback", default="", help="Shown to the workers (rejection: the reason)")

    def handle(self, *args, batch: int, approve: bool, reject: bool, feedback: str, **options) -> None:
        found = Batch.objects.filter(pk=batch).first()
        if found is None:
            raise CommandError(f"batch {batch} does not exist")
        waiting = list(services.missing_answers(found).select_related("worker").order_by("pk"))
        if not approve and not reject:
            for assignment in waiting:
                self.stdout.write(f"  {assignment.provider_assignment_id} (worker {assignment.worker.external_id})")
            self.stdout.write(f"{len(waiting)} submissions of batch {batch} have no stored answer. "
                              "Decide with --approve or --reject.")
            return
        report = services.review_missing(found, approve=approve, feedback=feedback)
        for error in report.errors:
            self.stdout.write(self.style.ERROR(f"  {error}"))
        self.stdout.write(f"{'Approved' if approve else 'Rejected'} {len(report.done)} submissions with no stored "
                          f"answer ({len(report.errors)} failed).")
        if report.errors:
            raise CommandError(f"{len(report.errors)} submissions were not decided (see above)")
