"""``manage.py restore_portal DIR``: load a backup into the configured (empty) database,
then prove it: the audit chain verifies against the backed-up anchors and every table has
the rows the manifest counted. Exit 1 if not (``portal.operations.backup``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.operations.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_portal into an empty database, copy its audit "
        "anchors to AUDIT_ANCHOR_DIR, run verify_audit and compare row counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="A directory written by backup_portal.")

    def handle(self, *args, **options):
        try:
            report = restore(Path(options["directory"]))
        except BackupError as error:
            raise CommandError(str(error)) from error
        verification = report.verification
        if not verification.ok:
            raise CommandError(
                f"Restored, but the audit trail is BROKEN at event #{verification.first_bad}: "
                f"{verification.reason} Do not put this database into service (docs/operations.md, "
                "restore)."
            )
        if report.differences:
            tables = ", ".join(
                f"{table} {before}->{after}"
                for table, (before, after) in report.differences.items()
            )
            raise CommandError(f"Restored, but row counts differ from the backup: {tables}")
        self.stdout.write(
            f"Restored in {report.seconds} s: audit trail intact ({verification.checked} "
            f"events, {verification.anchors} anchors), every table's rows as backed up."
        )
