"""``manage.py verify_audit``: is the audit trail intact? Exit 0 if so, 1 naming the first
bad event if not."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit_verify import range_error, verify_audit


class Command(BaseCommand):
    help = (
        "Walk the sealed audit log with its HMAC keys (AUDIT_KEYS) and check every head and "
        "anchor written outside the database. Exits 0 with the number of events when intact; "
        "exits 1 naming the first altered, removed, inserted, reordered or forged event."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-checkpoint",
            action="store_true",
            help="Start after the newest checkpoint (its signature checked) instead of at "
            "the first event.",
        )
        parser.add_argument(
            "--from-position",
            type=int,
            default=None,
            metavar="N",
            help="Start at position N (its link checked against the one stored before it).",
        )
        parser.add_argument(
            "--to-position",
            type=int,
            default=None,
            metavar="M",
            help="Stop after position M (the log's end is then not checked).",
        )
        parser.add_argument(
            "--anchor-dir", default=None, help="Anchors to check (default AUDIT_ANCHOR_DIR)."
        )
        parser.add_argument(
            "--public-key",
            default=None,
            help="The auditors' copy of the checkpoints' Ed25519 public key (PEM); default: "
            "that of AUDIT_SIGNING_KEY_FILE.",
        )

    def handle(self, *args, **options):
        span = options["from_position"], options["to_position"], options["from_checkpoint"]
        if problem := range_error(*span):
            name, message = problem
            raise CommandError(f"--{name.replace('_', '-')}: {message}")
        result = verify_audit(
            anchor_dir=options["anchor_dir"],
            public_key_file=options["public_key"],
            from_checkpoint=options["from_checkpoint"],
            from_position=options["from_position"],
            to_position=options["to_position"],
        )
        if not result.ok:
            raise CommandError(
                f"Audit trail BROKEN at event #{result.first_bad} "
                f"(after checking {result.checked} events): {result.reason}"
            )
        self.stdout.write(
            f"Audit trail intact: {result.checked} events, {result.anchors} anchors checked."
        )
        if result.unsealed:
            self.stdout.write(
                f"{result.unsealed} newer events are not sealed yet (the sealer runs every "
                "second): not checked."
            )
