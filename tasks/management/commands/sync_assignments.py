"""Pull submitted assignments from the crowd platform, approve those that pass QC, reject those that fail."""

from django.core.management.base import BaseCommand, CommandError

from tasks import services
from tasks.models import Batch
from tasks.mturk import MTurkError
from tasks.providers import ProviderError


class Command(BaseCommand):
    help = "Sync assignments of one batch (--batch) or of every published batch."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=None)

    def handle(self, *args, batch: int | None, **options) -> None:
        ids = [batch] if batch is not None else services.batches_to_sync()
        if batch is not None and not Batch.objects.filter(pk=batch).exists():
            raise CommandError(f"batch {batch} does not exist")
        for batch_id in ids:
            self._sync(Batch.objects.get(pk=batch_id))
        if not ids:
            self.stdout.write("No published batches to sync.")

    def _sync(self, batch: Batch) -> None:
        try:
            report = services.sync_batch(batch)
        except (ProviderError, MTurkError) as exc:
            raise CommandError(f"batch {batch.pk}: {exc}") from exc
        spent = services.spent_cost(batch)
        self.stdout.write(
            f"Batch {batch.pk} ({batch.provider}): {report.approved} approved, {report.rejected} rejected, "
            f"{report.updated_from_provider} updated from the provider, {report.unchanged} unchanged; "
            f"spent ${spent.total} (rewards ${spent.rewards}, bonuses ${spent.bonuses}, fees ${spent.fees})."
        )
        for assignment_id in report.missing_answer:
            self.stdout.write(self.style.WARNING(
                f"  {assignment_id}: submitted on the platform but no answer is stored here — not approved; "
                "the platform pays it after its auto-approval delay unless you decide first"
            ))
        if report.missing_answer:
            self.stdout.write(self.style.WARNING(
                f"  Decide: manage.py review_missing --batch {batch.pk} --approve | --reject (or the admin's "
                "Assignment list, filter \"answer missing\")."
            ))
        for error in report.errors:
            self.stdout.write(self.style.ERROR(f"  {error}"))
