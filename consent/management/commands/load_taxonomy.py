from django.core.management.base import BaseCommand

from consent.taxonomy import load_default_taxonomy


class Command(BaseCommand):
    help = "Load fideslang's default data uses and data categories (idempotent)."

    def handle(self, *args, **options):
        result = load_default_taxonomy()
        self.stdout.write(
            f"Taxonomy loaded: {result.purposes_created} purposes and "
            f"{result.categories_created} data categories created, {result.updated} updated."
        )
