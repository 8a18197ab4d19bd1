"""Pay a bonus to one approved assignment, or to every approved assignment of a batch."""

from django.core.management.base import BaseCommand, CommandError

from tasks import services
from tasks.models import Assignment, Batch


class Command(BaseCommand):
    help = "Pay a bonus (--amount dollars, --reason shown to the worker) to --assignment ID or to --batch ID."

    def add_arguments(self, parser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--assignment", type=int, help="One approved assignment")
        target.add_argument("--batch", type=int, help="Every approved assignment of this batch")
        parser.add_argument("--amount", required=True, help="Dollars per assignment, e.g. 0.50")
        parser.add_argument("--reason", required=True, help="Shown to the worker")

    def handle(self, *args, assignment: int | None, batch: int | None, amount: str, reason: str, **options) -> None:
        try:
            amount_paid, reason = services.bonus_terms(amount, reason)
        except services.BonusError as exc:
            raise CommandError(str(exc)) from exc
        report = services.pay_bonuses(self._assignments(assignment, batch), amount_paid, reason)
        for bonus in report.paid:
            self.stdout.write(f"assignment {bonus.assignment_id}: paid ${bonus.amount}")
        for bonus in report.already_paid:
            self.stdout.write(f"assignment {bonus.assignment_id}: already paid ${bonus.amount} for this reason")
        for bonus in report.in_flight:
            self.stdout.write(self.style.WARNING(
                f"assignment {bonus.assignment_id}: ${bonus.amount} is being sent by another run (or one that "
                "stopped less than 15 minutes ago) — run this again later; it will not pay twice"
            ))
        for refusal in report.refused:
            self.stdout.write(self.style.ERROR(f"{refusal} — not paid"))
        self.stdout.write(f"Paid {len(report.paid)} bonuses, ${report.total} in all "
                          f"({len(report.already_paid)} already paid, {len(report.refused)} refused).")
        if report.refused:
            raise CommandError(f"{len(report.refused)} bonuses were not paid (see above)")

    def _assignments(self, assignment: int | None, batch: int | None) -> list[Assignment]:
        if assignment is not None:
            found = list(Assignment.objects.filter(pk=assignment))
            if not found:
                raise CommandError(f"assignment {assignment} does not exist")
            return found
        if not Batch.objects.filter(pk=batch).exists():
            raise CommandError(f"batch {batch} does not exist")
        approved = Assignment.objects.filter(hit__batch_id=batch, status=Assignment.Status.APPROVED)
        approved = list(approved.order_by("pk"))
        if not approved:
            raise CommandError(f"batch {batch} has no approved assignments: run sync_assignments first")
        return approved
