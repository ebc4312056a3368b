from django.core.management.base import BaseCommand

from consent.taxonomy import TAXONOMY_MESSAGES_PATH, taxonomy_messages_source


class Command(BaseCommand):
    help = (
        "Write consent/taxonomy_messages.py: the names of the installed fideslang taxonomy, "
        "marked for makemessages. Run it after upgrading fideslang, then `make messages`."
    )

    def handle(self, *args, **options):
        TAXONOMY_MESSAGES_PATH.write_text(taxonomy_messages_source(), encoding="utf-8")
        self.stdout.write(f"Wrote {TAXONOMY_MESSAGES_PATH}.")
