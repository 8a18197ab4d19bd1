
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.models import Dataset
from models_zoo import chunks as services
from models_zoo import store
from models_zoo.models import ChunkStatus, InferenceChunk
from models_zoo.registry import RegistryError

POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Propose candidate labels: each model's top-k for every image of a dataset, their union with "
        "provenance, and the original label. Queues one Celery task per chunk (or runs inline with --sync)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", required=True, help="dataset name")
        parser.add_argument("--models", help="comma-separated model names (default: all; see list_models)")
        parser.add_argument("--topk", type=int, default=5, help="labels per model (default 5)")
        parser.add_argument("--sync", action="store_true", help="run inline instead of queueing Celery tasks")
        parser.add_argument("--chunk-size", type=int, default=None, help="images per task (RELABEL_CHUNK_SIZE)")
        parser.add_argument("--device", default="", help="auto, cpu, cuda, cuda:N (RELABEL_INFERENCE_DEVICE)")
        parser.add_argument("--no-wait", action="store_true", help="queue the chunks and return at once")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, **options) -> None:
        dataset = Dataset.objects.filter(name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset {options['dataset']!r}: import it with `manage.py import_images`")
        names = [n.strip() for n in options["models"].split(",") if n.strip()] if options["models"] else None
        inline = options["sync"] or settings.CELERY_TASK_ALWAYS_EAGER
        try:
            if inline:
                services.check_weights(names)
            plan = services.plan_proposal(dataset, names, options["topk"], options["chunk_size"])
        except (RegistryError, store.ProposalError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{plan.images_to_process} images to process in {len(plan.chunk_ids)} chunks "
            f"({plan.new_chunks} new); {plan.images_without_file} images have no file"
        )
        bar = tqdm(total=plan.images_to_process, unit="img", disable=options["no_progress"] or not plan.chunk_ids)
        try:
            if inline:
                self._run_inline(plan, bar, options["device"])
            elif plan.chunk_ids:
                self._queue_and_wait(dataset, plan, bar, options["no_wait"])
        finally:
            bar.close()
        self._summary(dataset, plan)

    def _run_inline(self, plan: services.ProposalPlan, bar: tqdm, device: str) -> None:
        def skip(busy: services.ChunkBusy) -> None:
            self.stderr.write(f"skipped: {busy} (a worker is on it)")

        try:
            services.process_chunks(plan.chunk_ids, worker="inline", progress=bar.update, device=device, on_busy=skip)
        except RegistryError as exc:
            raise CommandError(str(exc)) from exc

    def _queue_and_wait(self, dataset: Dataset, plan: services.ProposalPlan, bar: tqdm, no_wait: bool) -> None:
        from models_zoo.tasks import propose_chunk

        for chunk_id in plan.chunk_ids:
            propose_chunk.delay(chunk_id)
        self.stdout.write(f"queued {len(plan.chunk_ids)} tasks on queue 'inference' "
                          "(workers: celery -A relabel worker -Q inference --pool solo)")
        if not no_wait:
            services.wait_for_chunks(dataset, plan.chunk_ids, lambda done: bar.update(done - bar.n), POLL_SECONDS)

    def _summary(self, dataset: Dataset, plan: services.ProposalPlan) -> None:
        summary = services.proposal_summary(dataset, plan.chunk_ids)
        failed = InferenceChunk.objects.filter(pk__in=plan.chunk_ids, status=ChunkStatus.FAILED)
        self.stdout.write(
            f"Dataset {dataset.name}: {summary.images_with_candidates}/{summary.images} images have candidates, "
            f"{summary.candidates} candidate labels "
            f"({summary.candidates / max(summary.images_with_candidates, 1):.1f} per image); "
            f"original label proposed by a model for {summary.original_proposed}/{summary.images_with_original}"
        )
        if summary.failed_images:
            self.stdout.write(f"{len(summary.failed_images)} images could not be decoded: {summary.failed_images[:20]}")
        for chunk in failed:
            self.stderr.write(f"chunk {chunk.pk} failed after {chunk.attempts} attempts: {chunk.error}")
        if failed:
            raise CommandError(f"{failed.count()} chunks failed; fix the cause and run the command again")
        self.stdout.write(f"Next: python manage.py create_hits --dataset {dataset.name} --task contains")
