"""Simulated participants take a prolific-sim batch through the running site's real pages over HTTP."""

import hashlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tasks.models import ProlificStudy, Provider
from tasks.simulators.prolific.participants import ParticipantError, select_randomly, take_part


class Command(BaseCommand):
    help = ("Simulated Prolific participants work a batch published with --target prolific-sim, through the "
            "site at RELABEL_PUBLIC_BASE_URL and the simulator at PROLIFIC_SIMULATOR_URL.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, required=True)
        parser.add_argument("--participants", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0, help="Seeds both the participant ids and their clicks")

    def handle(self, *args, batch: int, participants: int, seed: int, **options) -> None:
        study = ProlificStudy.objects.filter(batch_id=batch, batch__provider=Provider.PROLIFIC_SIM).first()
        if study is None or not study.study_id:
            raise CommandError(f"batch {batch} is not published on prolific-sim: "
                               f"run publish_hits --batch {batch} --target prolific-sim first")
        site = settings.RELABEL_PUBLIC_BASE_URL
        for index in range(participants):
            participant = hashlib.sha256(f"{seed}-{index}".encode()).hexdigest()[:24]
            try:
                walk = take_part(site, settings.PROLIFIC_SIMULATOR_URL, study.study_id, participant,
                                 select_randomly(seed * 1000 + index))
            except ParticipantError as exc:
                raise CommandError(f"participant {participant}: {exc}") from exc
            self.stdout.write(f"{participant}: {len(walk.hits)} HITs, completed on Prolific: {walk.completed}")
        self.stdout.write(f"Done. Next: sync_assignments --batch {batch}")
