from django.core.management import call_command
from django.core.management.base import BaseCommand

from demo.pipeline import run_demo


class Command(BaseCommand):
    help = "Run the whole pipeline on the bundled demo photographs, then serve the site on 127.0.0.1:8000."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="stop after the pipeline")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args, **options) -> None:
        logins = run_demo(self.stdout.write)
        address = f"http://{options['addrport']}"
        self.stdout.write(self.style.SUCCESS("\nRelabel demo is ready."))
        admin, annotator = logins["admin"], logins["annotator"]
        self.stdout.write(f"  Researcher (staff):  {address}/dashboard/  user admin      password {admin}")
        self.stdout.write(f"  Admin:               {address}/admin/")
        self.stdout.write(f"  Local annotator:     {address}/annotate/   user annotator  password {annotator}"
                          "  (a small CONTAINS, CLASSIFY and 1000-way batch is waiting)")
        if not options["no_serve"]:
            call_command("runserver", options["addrport"], use_reloader=False)
