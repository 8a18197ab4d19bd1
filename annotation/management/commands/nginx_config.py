import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.media_proxy import nginx_config

# host:port, [v6]:port, a port alone, or unix:/path: what nginx takes in `listen` and `server`.
_ADDRESS = re.compile(r"(?:[A-Za-z0-9_.-]+:|\[[0-9A-Fa-f:]+\]:)?[0-9]{1,5}|unix:/[^\s;{}\"']+")


class Command(BaseCommand):
    help = (
        "Write an nginx.conf that answers stored images from MEDIA_ROOT (same headers as Django) and hands every "
        "other request to gunicorn. Run it with `nginx -c FILE`; write it again after changing the settings."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--upstream", default="127.0.0.1:8000", help="gunicorn's address (WEB_BIND)")
        parser.add_argument("--listen", default="8080", help="nginx's address: PORT or HOST:PORT")
        parser.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
        parser.add_argument("--pid", default="/run/relabel-nginx.pid", help="nginx's pid file")
        parser.add_argument("--error-log", default="stderr", help="nginx's error log (default: stderr)")
        parser.add_argument("--access-log", default="off", help="nginx's access log file, or off")
        parser.add_argument("--user", help="user nginx's workers run as, when nginx starts as root")
        parser.add_argument("--temp-dir", help="directory for nginx's body buffers (default: nginx's own, needs root)")

    def handle(self, *args, **options) -> None:
        for name in ("upstream", "listen"):
            if not _ADDRESS.fullmatch(options[name]):
                raise CommandError(
                    f"--{name} {options[name]!r} is not an address nginx takes: give PORT, HOST:PORT or unix:/PATH"
                )
        try:
            text = nginx_config(
                options["upstream"], options["listen"], pid=options["pid"], error_log=options["error_log"],
                access_log=options["access_log"], user=options["user"], temp_dir=options["temp_dir"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"] is None:
            self.stdout.write(text, ending="")
            return
        try:
            options["output"].write_text(text)
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from exc
        self.stderr.write(
            f"Wrote {options['output']}. Next: nginx -t -c {options['output']} && nginx -c {options['output']}; "
            "set RELABEL_TRUSTED_PROXY_COUNT one higher (nginx adds a hop to X-Forwarded-For)."
        )
