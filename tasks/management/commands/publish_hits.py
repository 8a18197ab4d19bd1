"""Publish a batch's HITs on its own provider (default) or on --target: MTurk sandbox, production, the
offline simulator, local annotators or a link."""

from django.core.management.base import BaseCommand, CommandError

from tasks import services
from tasks.models import Batch
from tasks.mturk import MTurkError
from tasks.providers import ProviderError, get_provider
from tasks.providers.link import LinkProvider, study_info
from tasks.providers.mturk import MTurkProvider

TARGETS = ["sandbox", "production", "simulator", "local", "link"]
NEXT_STEPS = {
    "local": "Next: annotators log in and open /annotate/ (add accounts in /admin/); then "
             "python manage.py aggregate --dataset {dataset}",
    "link": "Next: give the study URL and completion code to your participants (e.g. on Prolific); then "
            "python manage.py link_reconcile --batch {batch} EXPORT.csv",
    "mturk": "Next: python manage.py sync_assignments --batch {batch} (collects and reviews submitted work); then "
             "python manage.py aggregate --dataset {dataset}",
}


class Command(BaseCommand):
    help = "Publish the HITs of a batch (sandbox first; production needs --production and a typed confirmation)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, required=True, help="Batch id (see create_hits)")
        parser.add_argument("--target", default=None, choices=TARGETS,
                            help="where to publish (default: the provider the batch was created for)")
        parser.add_argument("--production", action="store_true", help="Required to spend real money")
        parser.add_argument("--confirm", default=None, help="The confirmation text, for non-interactive runs")
        parser.add_argument("--rounds-of", type=int, default=None, help="Split each HIT into rounds (9: 20%% fee)")
        parser.add_argument("--dry-run", action="store_true", help="Print the cost and balance, create nothing")

    def handle(self, *args, batch: int, target: str | None, **options) -> None:
        found = self._batch(batch)
        target = target or found.provider
        if target not in TARGETS:
            raise CommandError(f"batch {found.pk} holds {found.get_provider_display().lower()}, which is not "
                               f"published: give --target ({', '.join(TARGETS)})")
        try:
            self._publish(found, target, options)
        except (ProviderError, MTurkError) as exc:
            raise CommandError(str(exc)) from exc

    def _batch(self, batch_id: int) -> Batch:
        try:
            return Batch.objects.get(pk=batch_id)
        except Batch.DoesNotExist as exc:
            raise CommandError(f"batch {batch_id} does not exist (list them in the admin or run create_hits)") from exc

    def _publish(self, batch: Batch, target: str, options: dict) -> None:
        if target == "production" and not options["production"]:
            raise CommandError("publishing to production spends real money: add --production to confirm the target")
        provider = get_provider(target)
        if isinstance(provider, MTurkProvider):
            provider.check_base_url()
        if options["rounds_of"]:
            services.set_rounds(batch, options["rounds_of"])
        estimate = services.estimate_cost(batch, provider=target)
        self._print_estimate(batch, estimate, target)
        if isinstance(provider, MTurkProvider):
            self._check_balance(provider, estimate)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was created.")
            return
        if target == "production":
            self._confirm(batch, estimate, options["confirm"])
        report = services.publish_batch(batch, provider)
        self.stdout.write(self.style.SUCCESS(
            f"Batch {batch.pk} on {target}: {report.created} HITs published, {report.skipped} already published."
        ))
        if isinstance(provider, LinkProvider):
            info = study_info(batch)
            self.stdout.write(f"Study URL: {info.url}\nCompletion code: {info.completion_code}")
        step = NEXT_STEPS.get(target, NEXT_STEPS["mturk"])
        self.stdout.write(step.format(dataset=batch.dataset.name, batch=batch.pk))

    def _print_estimate(self, batch: Batch, estimate: services.CostEstimate, target: str) -> None:
        self.stdout.write(
            f"Batch {batch.pk}: {estimate.hits} HITs to publish ({estimate.provider_hits} provider HITs), "
            f"{estimate.assignments} assignments at ${batch.reward} each.\n"
            f"Rewards ${estimate.rewards} + fees ${estimate.fees} = at most ${estimate.total}.\n"
            f"{services.fee_note(estimate, target)}"
        )

    def _check_balance(self, provider: MTurkProvider, estimate: services.CostEstimate) -> None:
        balance = provider.balance()
        self.stdout.write(f"Account balance ({provider.target}): ${balance}")
        if balance < estimate.total:
            raise CommandError(f"the balance ${balance} is below the cost ${estimate.total}: add funds first")

    def _confirm(self, batch: Batch, estimate: services.CostEstimate, given: str | None) -> None:
        expected = f"publish batch {batch.pk}"
        prompt = f"This spends up to ${estimate.total} on MTurk production. Type '{expected}' to go on: "
        answer = given if given is not None else input(prompt)
        if answer.strip() != expected:
            raise CommandError(f"confirmation did not match {expected!r}: nothing was published")
