from django.core.management.base import BaseCommand

from consent.coverage_cache import coverage_figures_warm


class Command(BaseCommand):
    help = (
        "Count and keep the coverage of every large asset for the purposes of its grants, "
        "requests and collection, so no page waits for a count (after a deployment)."
    )

    def handle(self, *args, **options):
        counted = coverage_figures_warm()
        self.stdout.write(f"Coverage figures counted: {counted}.")
