"""Run the offline MTurk simulator (point MTURK_ENDPOINT_URL at it and publish with --target simulator)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tasks.simulators.mturk.server import make_server


class Command(BaseCommand):
    help = (
        "Serve an offline MTurk requester API + worker endpoints on 127.0.0.1 (state kept in a JSON file); "
        "the API answers requests signed with MTURK_SIMULATOR_ACCESS_KEY_ID only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1", help="Interface (default loopback only)")
        parser.add_argument("--state", type=Path, default=None, help="State file (default MTURK_SIMULATOR_STATE)")
        parser.add_argument("--reset", action="store_true", help="Start from an empty state ($10,000.00)")

    def handle(self, *args, port: int, host: str, state: Path | None, reset: bool, **options) -> None:
        path = state or Path(settings.MTURK_SIMULATOR_STATE)
        if reset:
            path.unlink(missing_ok=True)
        try:
            server = make_server(path, host, port, settings.MTURK_SIMULATOR_ACCESS_KEY_ID)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(
            f"MTurk simulator on http://{host}:{server.server_address[1]}/ (state: {path}).\n"
            f"Set MTURK_ENDPOINT_URL=http://{host}:{server.server_address[1]} and publish with --target simulator."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            server.server_close()
