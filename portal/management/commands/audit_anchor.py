"""``manage.py audit_anchor``: verify the chain and anchor its head now (the beat job does
it daily). Exit 1 if the chain is broken: nothing is anchored then."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_channel
from portal.services import audit_anchor_write


class Command(BaseCommand):
    help = (
        "Verify the audit chain, write its head (id, hash, time) to a file under "
        "AUDIT_ANCHOR_DIR and e-mail it to Compliance."
    )

    def handle(self, *args, **options):
        with audit_channel("command"):
            result = audit_anchor_write(actor=None)
        verification = result.verification
        if not verification.ok:
            raise CommandError(
                f"Audit trail BROKEN at event #{verification.first_bad}: {verification.reason} "
                "Nothing was anchored; Compliance has been told."
            )
        if result.anchor is None:
            self.stdout.write("The audit trail is empty: nothing to anchor.")
            return
        self.stdout.write(
            f"Anchored event #{result.anchor.event_id} ({result.anchor.hash}) in "
            f"{result.anchor.file}; {verification.checked} events verified."
        )
