"""``manage.py backup_portal DIR``: a consistent backup (pg_dump custom format, the audit
anchors, a manifest of row counts) into a new directory (``portal.operations.backup``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.operations.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump custom format, one snapshot) and the audit anchors "
        "into DIR, with a manifest of every table's row count."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="A new directory for this backup.")

    def handle(self, *args, **options):
        try:
            manifest = backup(Path(options["directory"]))
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["tables"].values())
        self.stdout.write(
            f"Backed up {rows} rows in {len(manifest['tables'])} tables and "
            f"{manifest['anchors']} audit anchors (audit events up to "
            f"#{manifest['last_audit_event_id']}) in {manifest['seconds']} s."
        )
