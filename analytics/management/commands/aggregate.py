import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.aggregation import TIE_CONVENTIONS, TIES_SMALLEST
from analytics.models import ClassifyResult, ImageCategory
from analytics.services import aggregate_dataset
from annotation.models import Dataset
from tasks.builders import CATEGORIES_HELP


class Command(BaseCommand):
    help = "Recompute selection frequencies, image categories and CLASSIFY results of a dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--sf-ratio", type=float, default=0.5,
                            help="confident labels: SF >= ratio x SF(original label)")
        parser.add_argument("--min-workers", type=int, default=5, help="fewer CONTAINS workers: 'amb'")
        parser.add_argument("--ties", choices=TIE_CONVENTIONS, default=TIES_SMALLEST,
                            help="CLASSIFY ties: smallest number of objects / most selected then smallest label "
                                 "(default), or first-seen (the answer recorded first, as the paper's aggregates)")

    def handle(self, *args, **opts) -> None:
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}")
        if not 0 < opts["sf_ratio"] <= 1:
            raise CommandError("--sf-ratio must be in (0, 1]")
        started = time.perf_counter()
        summary = aggregate_dataset(dataset, opts["sf_ratio"], opts["min_workers"], opts["ties"])
        tied = ClassifyResult.objects.filter(image__dataset=dataset)
        self.stdout.write(
            f"{dataset.name}: {summary.pairs} selection frequencies; categories: "
            f"{summary.categories.counts_text()}; {summary.classify_results} CLASSIFY results "
            f"({tied.filter(num_objects_tied=True).count()} with tied objects, "
            f"{tied.filter(main_label_tied=True).count()} with a tied main label; ties: {opts['ties']}) "
            f"({time.perf_counter() - started:.2f}s)"
        )
        self.stdout.write(CATEGORIES_HELP)
        if summary.categories.counts[ImageCategory.Category.FOLLOW_UP] and not summary.classify_results:
            self.stdout.write(f"Next: python manage.py create_hits --dataset {dataset.name} --task classify")
        else:
            self.stdout.write(f"Next: the dashboard at /dashboard/{dataset.name}/, or python manage.py export "
                              f"--dataset {dataset.name} --what labels --format json")
