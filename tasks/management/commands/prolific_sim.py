"""Run the offline Prolific simulator (point PROLIFIC_API_URL at it and publish with --target prolific-sim)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tasks.simulators.prolific.server import make_server


class Command(BaseCommand):
    help = "Serve an offline Prolific API and its test hooks on 127.0.0.1 (state kept in a JSON file)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8766)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--state", type=Path, default=None, help="State file (default PROLIFIC_SIMULATOR_STATE)")
        parser.add_argument("--reset", action="store_true", help="Start from an empty state ($10,000.00)")

    def handle(self, *args, port: int, host: str, state: Path | None, reset: bool, **options) -> None:
        path = state or Path(settings.PROLIFIC_SIMULATOR_STATE)
        if reset:
            path.unlink(missing_ok=True)
        try:
            server = make_server(path, settings.PROLIFIC_SERVICE_FEE_RATE, host, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
        url = f"http://{host}:{server.server_address[1]}"
        self.stdout.write(
            f"Prolific simulator on {url}/ (state: {path}).\n"
            f"Set PROLIFIC_SIMULATOR_URL={url} and PROLIFIC_COMPLETION_URL={url}/_sim/complete, "
            "then publish with --target prolific-sim."
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            server.server_close()
