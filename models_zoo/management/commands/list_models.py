from django.core.management.base import BaseCommand, CommandError

from models_zoo.registry import RegistryError, all_models, availability


class Command(BaseCommand):
    help = "List the registered models: name, architecture, input size, weight source, availability here."

    def handle(self, *args, **options) -> None:
        try:
            specs = list(all_models().values())
        except RegistryError as exc:
            raise CommandError(str(exc)) from exc
        rows = [("NAME", "ARCHITECTURE", "INPUT", "WEIGHTS", "AVAILABLE")]
        for spec in specs:
            size = str(spec.preprocessing.input_size) if spec.preprocessing else "timm default"
            rows.append((spec.name, spec.architecture, size, spec.weights.describe(), availability(spec)))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                              + "  " + row[4])
