"""``manage.py import_consents FILE``: the CSV import, run by the system (no person).

Same service as the upload page: all rows or none, every bad row reported with its line.
Exit status 1 when the file is rejected.
"""

from django.core.management.base import BaseCommand, CommandError

from consent.services.imports import ImportRejected, consent_import
from portal.audit import audit_channel


class Command(BaseCommand):
    help = "Import consent records from a CSV file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row).")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, passed to the service
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        try:
            with audit_channel("command"):
                report = consent_import(actor=None, file=handle, name=path)
        except ImportRejected as rejected:
            for line, reason in rejected.report.errors:
                self.stderr.write(f"line {line}: {reason}")
            raise CommandError(rejected.message) from rejected
        finally:
            handle.close()
        self.stdout.write(
            f"Imported {report.imported:,} of {report.rows:,} rows "
            f"({report.already_recorded:,} already recorded); sha256 {report.sha256}."
        )
