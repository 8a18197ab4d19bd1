"""Reconcile a link-provider batch (Prolific-style) from the platform's CSV export."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tasks.models import Batch, Provider
from tasks.providers import ProviderError
from tasks.providers.link import LinkProvider, read_export


class Command(BaseCommand):
    help = "Approve submissions whose participant entered the batch's completion code (CSV export of the platform)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, required=True)
        parser.add_argument("csv", type=Path, help="The platform's CSV export (participant id, completion code)")

    def handle(self, *args, batch: int, csv: Path, **options) -> None:
        target = Batch.objects.filter(pk=batch, provider=Provider.LINK).first()
        if target is None:
            raise CommandError(f"batch {batch} does not exist or is not published with --target link")
        try:
            rows = read_export(csv.read_text(encoding="utf-8-sig"))
            report = LinkProvider().reconcile(target, rows)
        except OSError as exc:
            raise CommandError(f"cannot read {csv}: {exc}") from exc
        except ProviderError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Approved {len(report.approved)}, rejected {len(report.rejected)}.")
        for title, ids in (
            ("Approve on the platform", report.approved), ("Reject on the platform (failed QC)", report.rejected),
            ("Wrong completion code (review by hand)", report.wrong_code),
            ("No submission stored here", report.no_submission), ("Already reviewed", report.already_reviewed),
            ("Confirmed (now counted)", report.confirmed),
            ("Discarded: not in the export (kept, never counted)", report.discarded),
        ):
            if ids:
                self.stdout.write(f"{title}: {', '.join(ids)}")
