"""Publish a batch's HITs on its own provider (default) or on --target: Prolific, a link, local annotators,
the offline simulators, or MTurk's sandbox and production."""

import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from tasks import services
from tasks.models import Batch
from tasks.mturk import MTurkError
from tasks.providers import ProviderError, get_provider
from tasks.providers.link import LinkProvider, study_info
from tasks.providers.mturk import MTurkProvider
from tasks.providers.prolific import PROLIFIC_TARGETS, ProlificProvider, draft_study_body, plan, set_hits_per_session

TARGETS = ["sandbox", "production", "simulator", "local", "link", "prolific", "prolific-sim"]
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
        parser.add_argument("--hits-per-session", type=int, default=None,
                            help="Prolific: HITs one participant does in one session (default: about 10 minutes)")

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
        if target in PROLIFIC_TARGETS:
            self._publish_prolific(batch, ProlificProvider(target), options)
            return
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
            self._confirm(batch, estimate.total, options["confirm"], "MTurk production")
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

    def _confirm(self, batch: Batch, total: Decimal, given: str | None, platform: str) -> None:
        expected = f"publish batch {batch.pk}"
        prompt = f"This spends up to ${total} on {platform}. Type '{expected}' to go on: "
        answer = given if given is not None else input(prompt)
        if answer.strip() != expected:
            raise CommandError(f"confirmation did not match {expected!r}: nothing was published")

    def _publish_prolific(self, batch: Batch, provider: ProlificProvider, options: dict) -> None:
        """One study per batch: cost, balance, `--dry-run` prints the study, `prolific` needs the confirmation."""
        provider.check_base_url()
        if options["hits_per_session"]:
            set_hits_per_session(batch, options["hits_per_session"])
        study = plan(batch)
        self.stdout.write(
            f"Batch {batch.pk} on {provider.target}: one study of {study.places} places, {study.hits_per_session} HITs "
            f"per participant (~{study.minutes} min) at ${study.reward_per_place} each.\n"
            f"Rewards ${study.rewards} + Prolific's service fee {study.fee_rate * 100:.1f}% ${study.fees} "
            f"= at most ${study.total} (fee rate: setting PROLIFIC_SERVICE_FEE_RATE, see docs/crowd.md)."
        )
        balance = provider.balance()
        if balance is None:
            self.stdout.write("Balance not checked (set PROLIFIC_WORKSPACE_ID to check it before publishing).")
        else:
            self.stdout.write(f"Workspace balance: ${balance}")
            if balance < study.total:
                raise CommandError(f"the balance ${balance} is below the cost ${study.total}: top up on Prolific first")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was created. The study it would create:")
            self.stdout.write(json.dumps(draft_study_body(batch), indent=2))
            return
        if provider.target == "prolific":
            self._confirm(batch, study.total, options["confirm"], "Prolific")
        report = services.publish_batch(batch, provider)
        study_id = batch.prolific_study.study_id
        self.stdout.write(self.style.SUCCESS(
            f"Batch {batch.pk} on {provider.target}: study {study_id} published; {report.created} HITs opened, "
            f"{report.skipped} already open.\nNext: sync_assignments --batch {batch.pk} as participants finish."
        ))
