from django.core.management.base import BaseCommand, CommandError

from annotation.taxonomy import TaxonomyError, load_taxonomy


class Command(BaseCommand):
    help = "Load the ImageNet-1k taxonomy (WordNet 3.0 names, definitions, hierarchy, superclasses)."

    def handle(self, *args, **options) -> None:
        try:
            count = load_taxonomy()
        except TaxonomyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Loaded {count} classes."))
        self.stdout.write("Next: python manage.py import_images --dataset NAME PATH [--labels labels.csv]")
