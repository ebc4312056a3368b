"""A large company's data for load tests and query plans (not demo data).

    DATABASE_URL=postgres://.../portal_scale_data .venv/bin/python manage.py seed_scale

At ``--scale 1``: 1,000 users, 100,000 customers, 2,000 data assets (a few of 50,000
customers, most of a few dozen to a few thousand), 500,000 consent records (current state
rebuilt), 25,000 access requests with their approval chains (20,000 approved, each with its
grant and, while active, its guardian permissions; 5,000 pending, denied or withdrawn),
1,000 incidents, 20,000 notifications and 200,000 audit events on a valid hash chain.
``--scale 0.001``
makes a tiny copy for tests.

Bulk-loaded, not written through the services: PostgreSQL ``COPY`` (psycopg 3) where
available, batched ``INSERT`` otherwise. The rows are what the services would have written
(same fields, same rules: chains by classification, segregation of duties, permissions only
for active grants), but no history rows, and the audit events are a plausible trail rather
than the trace of these exact rows. Runs in one transaction into an empty portal: it refuses
a database that already holds its users, and refuses anything but PostgreSQL unless
``--force`` (SQLite is only good for the tiny test copy).

Users are ``scale-user-0001`` ..., ``scale-owner-001`` ..., ``scale-compliance-01`` ...,
``scale-legal-01`` ... and the superuser ``scale-admin``; all with the password ``scale``
(one hash computed once: this is benchmark data, never a real deployment).
"""

import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql

from consent.coverage_cache import coverage_changed
from consent.models import ConsentRecord, DataCategory, Purpose
from consent.services.imports import consent_state_rebuild
from customers.emails import normalise_email
from customers.models.access import ACCESS_CHAIN_KIND, AccessGrant, AccessRequest
from customers.models.catalogue import (
    AssetCustomer,
    Classification,
    Customer,
    DataAsset,
    DataAssetUserObjectPermission,
)
from customers.models.exports import Export
from customers.services.access import CHAIN_BY_CLASSIFICATION
from portal import roles
from portal.audit import HASHED_FIELDS
from portal.audit_actions import AuditAction
from portal.audit_seal import seal_pending
from portal.models import (
    ApprovalChain,
    ApprovalRole,
    ApprovalStep,
    AuditEvent,
    ChainStatus,
    Notification,
    StepStatus,
)

PASSWORD = "scale"
USER_PREFIX = "scale-"

# Counts at --scale 1: a large company's portal (docs/performance.md).
FULL = {
    "users": 1_000,
    "customers": 100_000,
    "assets": 2_000,
    "consent_records": 500_000,
    "grants": 20_000,
    "open_requests": 5_000,
    "incidents": 1_000,
    "notifications": 20_000,
    "audit_events": 200_000,
}
# Of the users: compliance officers, legal counsels, data owners; the rest are employees.
COMPLIANCE_SHARE, LEGAL_SHARE, OWNER_SHARE = 0.01, 0.005, 0.2

# Asset sizes: (share of the assets, share of all customers each holds). At scale 1: 4
# assets of 50,000 customers, 16 of 10,000, 80 of 2,000, 400 of 500 and 1,500 of 10-100.
SIZE_TIERS = [(0.002, 0.5), (0.008, 0.1), (0.04, 0.02), (0.2, 0.005)]
SMALL_ASSET = (10, 100)

CLASS_MIX = [
    (Classification.PUBLIC, 0.10),
    (Classification.INTERNAL, 0.30),
    (Classification.CONFIDENTIAL, 0.45),
    (Classification.RESTRICTED, 0.15),
]
CATEGORIES = [
    "user.name",
    "user.contact.email",
    "user.contact.phone_number",
    "user.workplace",
    "user.contact.address.country",
]
COLLECTED_FOR = ["essential.service", "marketing.communications.email", "analytics", ""]
# Consent purposes with weights: most statements are about e-mail marketing.
CONSENT_PURPOSES = [
    ("marketing.communications.email", 5),
    ("marketing", 2),
    ("marketing.communications", 1),
    ("marketing.communications.sms", 1),
    ("marketing.advertising", 1),
    ("personalize", 1),
    ("third_party_sharing", 1),
    ("analytics", 1),
]
REQUEST_PURPOSES = [
    "marketing.communications.email",
    "marketing",
    "personalize",
    "analytics",
    "essential.service",
]
SYSTEMS = ["Web shop", "CRM", "Newsletter platform", "Loyalty club", "Call centre", "ERP"]
REGIONS = ["Nordic", "Baltic", "German", "Dutch", "Polish", "UK", "Iberian", "Alpine"]
KINDS = ["retail customers", "subscribers", "key accounts", "prospects", "members", "leads"]
COUNTRIES = ["NO", "SE", "DK", "FI", "DE", "NL", "PL", "GB", "ES", "AT"]
FIRST = ["Anna", "Lars", "Maja", "Olav", "Ingrid", "Erik", "Sofia", "Jonas", "Eva", "Nils"]
LAST = ["Berg", "Hansen", "Lund", "Nilsen", "Dahl", "Strand", "Holm", "Bakke", "Moen", "Vik"]
JUSTIFICATION = "We need these customers for the campaign planned with the regional team."


@dataclass(frozen=True)
class Plan:
    """How many rows of each kind ``--scale`` asks for (at least a handful of each)."""

    users: int
    customers: int
    assets: int
    consent_records: int
    grants: int
    open_requests: int
    incidents: int
    notifications: int
    audit_events: int

    @classmethod
    def at(cls, scale: float) -> "Plan":
        minimum = {"users": 30, "customers": 100, "assets": 3}
        return cls(
            **{
                name: max(minimum.get(name, 5), round(count * scale))
                for name, count in FULL.items()
            }
        )


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, a line per
    tenth in a log file (a line when done for small tables)."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream=None):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()
        self.shown = -1

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.tty and self.total < 50_000:
            return  # a small table: one line when done
        step = 50 if self.tty else 10
        bucket = self.done * step // self.total
        if bucket != self.shown:
            self.shown = bucket
            self._draw()

    def _draw(self, end: str = "") -> None:
        filled = min(self.WIDTH, self.done * self.WIDTH // self.total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        seconds = time.perf_counter() - self.started
        line = f"  {self.label:<26} [{bar}] {self.done:>9,}/{self.total:,} {seconds:6.1f} s"
        self.stream.write(("\r" + line + end) if self.tty else (line + "\n"))
        self.stream.flush()

    def finish(self) -> None:
        self.done = min(self.done, self.total) if self.done else self.total
        if self.tty:
            self._draw(end="\n")
        elif self.total < 50_000:
            self._draw()


class BulkWriter:
    """Writes rows of a model's table in bulk: ``COPY`` on PostgreSQL, batched ``INSERT``
    elsewhere. Rows are tuples in the order of ``fields`` (attnames); ids are given."""

    BATCH = 2_000

    def __init__(self, model, fields: list[str]):
        meta = model._meta
        self.table = meta.db_table
        self.columns = [meta.get_field(name).column for name in fields]

    def write(self, rows: Iterable[tuple], progress: Progress) -> int:
        written = 0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(self.table),
                    sql.SQL(", ").join(map(sql.Identifier, self.columns)),
                )
                with cursor.cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
                        written += 1
                        progress.advance()
            else:
                quote = connection.ops.quote_name
                statement = (
                    f"INSERT INTO {quote(self.table)} ({', '.join(map(quote, self.columns))}) "
                    f"VALUES ({', '.join(['%s'] * len(self.columns))})"
                )
                batch = []
                for row in rows:
                    batch.append(tuple(map(_adapt, row)))
                    if len(batch) == self.BATCH:
                        cursor.executemany(statement, batch)
                        written += len(batch)
                        progress.advance(len(batch))
                        batch = []
                if batch:
                    cursor.executemany(statement, batch)
                    written += len(batch)
                    progress.advance(len(batch))
        return written


def _adapt(value):
    """Values for a database without COPY: the forms Django's ORM would store."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def next_id(model) -> int:
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1


def weighted(rng: random.Random, choices: list[tuple]) -> object:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


class Command(BaseCommand):
    help = "Bulk-load a large company's data (PostgreSQL) for load tests and query plans."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the full size (default 1)"
        )
        parser.add_argument(
            "--force", action="store_true", help="run on a database other than PostgreSQL"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed")

    def handle(self, *args, scale: float, force: bool, seed: int, **options):
        if connection.vendor != "postgresql" and not force:
            raise CommandError(
                f"seed_scale loads hundreds of thousands of rows and is meant for PostgreSQL; "
                f"this database is {connection.vendor}. Use --force to run it anyway."
            )
        if not 0 < scale <= 10:
            raise CommandError("--scale must be greater than 0 and at most 10.")
        if get_user_model().objects.filter(username__startswith=USER_PREFIX).exists():
            raise CommandError("This database already holds seed_scale data: use a fresh database.")
        self.plan = Plan.at(scale)
        self.loaded_models = []  # models loaded by optional steps, for reset_sequences
        self.rng = random.Random(seed)
        self.now = timezone.now().replace(microsecond=0)
        started = time.perf_counter()
        self.stderr.write(f"seed_scale at scale {scale}: {self.plan}")
        steps: list[tuple[str, Callable[[], None]]] = [
            ("users", self.seed_users),
            ("customers", self.seed_customers),
            ("assets", self.seed_assets),
            ("consent", self.seed_consent),
            ("requests and grants", self.seed_requests_and_grants),
            ("incidents", self.seed_incidents),
            ("notifications", self.seed_notifications),
            ("audit trail", self.seed_audit_trail),
        ]
        with transaction.atomic():
            for _, step in steps:
                step()
            self.reset_sequences()
            # Consent and memberships were loaded by COPY: no figure cached before stands.
            coverage_changed()
        # VACUUM cannot run inside a transaction (a test's); ANALYZE alone can.
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.stderr.write("  VACUUM ANALYZE ...")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        self.stdout.write(
            f"seed_scale done in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{name} {count:,}" for name, count in self.counts().items())
        )

    # --- steps ---------------------------------------------------------------------------

    def load(self, model, fields: list[str], rows: Iterable[tuple], total: int, label=None):
        progress = Progress(label or model._meta.verbose_name_plural, total, self.stderr)
        written = BulkWriter(model, fields).write(rows, progress)
        progress.finish()
        return written

    def seed_users(self) -> None:
        User = get_user_model()
        plan, rng = self.plan, self.rng
        password = make_password(PASSWORD)  # once: hashing 1,000 times would take minutes
        n_compliance = max(2, round(plan.users * COMPLIANCE_SHARE))
        n_legal = max(1, round(plan.users * LEGAL_SHARE))
        n_owners = max(3, round(plan.users * OWNER_SHARE))
        n_employees = max(3, plan.users - n_compliance - n_legal - n_owners - 1)
        first = next_id(User)
        people = (
            [(f"scale-compliance-{i:02d}", roles.COMPLIANCE) for i in range(1, n_compliance + 1)]
            + [(f"scale-legal-{i:02d}", roles.LEGAL) for i in range(1, n_legal + 1)]
            + [(f"scale-owner-{i:03d}", "") for i in range(1, n_owners + 1)]
            + [(f"scale-user-{i:04d}", "") for i in range(1, n_employees + 1)]
            + [("scale-admin", "")]
        )
        rows, group_rows = [], []
        groups = dict(Group.objects.values_list("name", "pk"))
        for offset, (username, group) in enumerate(people):
            pk = first + offset
            admin = username == "scale-admin"
            rows.append(
                (
                    pk,
                    password,
                    None,
                    admin,
                    username,
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"{username}@example.com",
                    admin,
                    True,
                    self.now - timedelta(days=rng.randint(30, 1500)),
                    "",
                    "",
                    "",
                    "",  # language: the browser's
                )
            )
            if group:
                group_rows.append((pk, groups[group]))
        fields = [
            "id",
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
            "time_zone",
            "department",
            "scim_external_id",
            "language",
        ]
        self.load(User, fields, rows, len(rows), "users")
        through = User.groups.through
        self.load(through, ["user_id", "group_id"], group_rows, len(group_rows), "role groups")
        ids = [row[0] for row in rows]
        self.compliance = ids[:n_compliance]
        self.legal = ids[n_compliance : n_compliance + n_legal]
        self.owners = ids[n_compliance + n_legal : n_compliance + n_legal + n_owners]
        self.employees = ids[n_compliance + n_legal + n_owners : -1]
        self.usernames = dict(zip(ids, (row[4] for row in rows), strict=True))

    def seed_customers(self) -> None:
        rng, total = self.rng, self.plan.customers
        first = next_id(Customer)
        self.customer_ids = range(first, first + total)

        def rows() -> Iterator[tuple]:
            for n, pk in enumerate(self.customer_ids):
                company = rng.random() < 0.2
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                yield (
                    pk,
                    f"{rng.choice(LAST)} {rng.choice(['AS', 'AB', 'GmbH', 'Ltd'])}"
                    if company
                    else name,
                    # Loaded by COPY, past Customer.save(): normalised as it would.
                    normalise_email(f"customer{first + n}@example.org"),
                    f"+47 {rng.randint(40000000, 99999999)}",
                    rng.choice(REGIONS) + " Trading" if company else "",
                    rng.choice(COUNTRIES),
                    self.now - timedelta(days=rng.randint(1, 2000)),
                )

        fields = ["id", "name", "email", "phone", "organisation", "country", "created_at"]
        self.load(Customer, fields, rows(), total, "customers")

    def asset_sizes(self) -> list[int]:
        plan, rng = self.plan, self.rng
        sizes = []
        for share, fraction in SIZE_TIERS:
            count = round(plan.assets * share) or (1 if not sizes else 0)
            sizes += [max(1, round(plan.customers * fraction))] * count
        low, high = SMALL_ASSET
        while len(sizes) < plan.assets:
            sizes.append(min(plan.customers, rng.randint(low, high)))
        return sizes[: plan.assets]

    def seed_assets(self) -> None:
        rng = self.rng
        first = next_id(DataAsset)
        sizes = self.asset_sizes()
        categories = dict(DataCategory.objects.filter(key__in=CATEGORIES).values_list("key", "pk"))
        purposes = dict(Purpose.objects.values_list("key", "pk"))
        self.purposes = purposes
        self.assets = []  # (id, owner_id, effective class, size)
        rows, category_rows, collected_rows, members = [], [], [], []
        for n, size in enumerate(sizes):
            pk = first + n
            region, kind, system = rng.choice(REGIONS), rng.choice(KINDS), rng.choice(SYSTEMS)
            classification = weighted(rng, CLASS_MIX)
            confirmed = rng.random() < 0.8
            owner = rng.choice(self.owners)
            rows.append(
                (
                    pk,
                    f"{region} {kind} {n + 1:04d}",
                    f"{kind.capitalize()} from the {system.lower()} in the {region} region, "
                    f"{size:,} customers.",
                    owner,
                    system,
                    None,
                    classification,
                    confirmed,
                    "Reviewed in the bulk classification of 2025." if confirmed else "",
                    rng.choice(self.compliance) if confirmed else None,
                    self.now - timedelta(days=rng.randint(1, 400)) if confirmed else None,
                    self.now - timedelta(days=rng.randint(400, 2000)),
                    self.now - timedelta(days=rng.randint(0, 400)),
                    size,  # customer_count: the memberships loaded below
                )
            )
            for key in rng.sample(CATEGORIES, rng.randint(2, 4)):
                if key in categories:
                    category_rows.append((pk, categories[key]))
            collected = rng.choice(COLLECTED_FOR)
            if collected in purposes:
                collected_rows.append((pk, purposes[collected]))
            effective = DataAsset(
                classification=classification, classification_confirmed=confirmed
            ).effective_classification
            self.assets.append((pk, owner, effective, size))
            members.append((pk, size))
        fields = [
            "id",
            "name",
            "description",
            "owner_id",
            "source_system",
            "retention_date",
            "classification",
            "classification_confirmed",
            "classification_reason",
            "classified_by_id",
            "classified_at",
            "created_at",
            "updated_at",
            "customer_count",
        ]
        self.load(DataAsset, fields, rows, len(rows), "data assets")
        self.load(
            DataAsset.data_categories.through,
            ["dataasset_id", "datacategory_id"],
            category_rows,
            len(category_rows),
            "asset categories",
        )
        self.load(
            DataAsset.collected_for.through,
            ["dataasset_id", "purpose_id"],
            collected_rows,
            len(collected_rows),
            "asset purposes",
        )
        customers = self.customer_ids

        first_membership = next_id(AssetCustomer)  # not inside the generator: COPY is open

        def membership_rows() -> Iterator[tuple]:
            pk = first_membership
            for asset_id, size in members:
                for customer in sorted(self.rng.sample(customers, size)):
                    yield (pk, asset_id, customer, self.now)
                    pk += 1

        total = sum(size for _, size in members)
        self.load(
            AssetCustomer,
            ["id", "asset_id", "customer_id", "added_at"],
            membership_rows(),
            total,
            "asset customers",
        )

    def seed_consent(self) -> None:
        rng, plan = self.rng, self.plan
        choices = [(self.purposes[key], w) for key, w in CONSENT_PURPOSES if key in self.purposes]
        ids, weights = [c for c, _ in choices], [w for _, w in choices]
        start = self.now - timedelta(days=3 * 365)
        span = int((self.now - start).total_seconds()) - 3600
        sources = ["web_form", "contract", "phone", "email", "import"]
        recorders = [None, None, *self.compliance]

        first = next_id(ConsentRecord)  # not inside the generator: COPY is open

        def rows() -> Iterator[tuple]:
            seen = set()
            pk = first
            while len(seen) < plan.consent_records:
                customer = rng.choice(self.customer_ids)
                purpose = rng.choices(ids, weights)[0]
                # Half the statements fall on midnight (ties between grant and withdrawal
                # happen, as in real imports); the rest at a random second.
                offset = rng.randrange(span)
                if rng.random() < 0.5:
                    offset -= offset % 86400
                status = "granted" if rng.random() < 0.7 else "withdrawn"
                key = (customer, purpose, offset, status)
                if key in seen:
                    continue
                seen.add(key)
                effective = start + timedelta(seconds=offset)
                yield (
                    pk,
                    customer,
                    purpose,
                    status,
                    rng.choice(sources),
                    f"scale-{pk}",
                    "v3",
                    rng.choice(recorders),
                    effective + timedelta(minutes=5),
                    effective,
                )
                pk += 1

        fields = [
            "id",
            "customer_id",
            "purpose_id",
            "status",
            "source",
            "evidence",
            "notice_version",
            "recorded_by_id",
            "recorded_at",
            "effective_at",
        ]
        self.load(ConsentRecord, fields, rows(), plan.consent_records, "consent records")
        progress = Progress("consent state (rebuild)", 1, self.stderr)
        consent_state_rebuild()
        progress.advance()
        progress.finish()

    def seed_requests_and_grants(self) -> None:
        """Approved requests, each with its grant (active, expired or revoked), and open,
        denied or withdrawn ones; chains and steps as the approval engine makes them."""
        rng, plan, now = self.rng, self.plan, self.now
        purpose_ids = [self.purposes[k] for k in REQUEST_PURPOSES if k in self.purposes]
        view_perm, export_perm = (
            Permission.objects.get(content_type__app_label="customers", codename=codename).pk
            for codename in ("view_records", "export_records")
        )
        total = plan.grants + plan.open_requests
        chain_pk, step_pk = next_id(ApprovalChain), next_id(ApprovalStep)
        request_pk, grant_pk = next_id(AccessRequest), next_id(AccessGrant)
        chains, steps, requests, grants, perms = [], [], [], [], set()
        pending_keys = set()
        requesters = self.employees + self.owners
        self.active_grants = []  # (grant id, user id, asset id)
        for n in range(total):
            approved = n < plan.grants
            asset_id, owner, klass, size = rng.choice(self.assets)
            requester = rng.choice(requesters)
            purpose = rng.choice(purpose_ids)
            if approved:
                outcome = ChainStatus.APPROVED
            else:
                outcome = weighted(
                    rng,
                    [
                        (ChainStatus.PENDING, 0.6),
                        (ChainStatus.DENIED, 0.25),
                        (ChainStatus.WITHDRAWN, 0.15),
                    ],
                )
                if outcome == ChainStatus.PENDING:
                    if (requester, asset_id, purpose) in pending_keys:
                        outcome = ChainStatus.WITHDRAWN  # one pending request per asset/purpose
                    pending_keys.add((requester, asset_id, purpose))
            level = "export" if rng.random() < 0.3 else "view"
            duration = rng.choice([7, 14, 30, 30, 60, 90])
            # Active grants are recent; expired and decided requests spread over two years.
            grant_state = weighted(rng, [("active", 0.6), ("expired", 0.3), ("revoked", 0.1)])
            if outcome == ChainStatus.PENDING or (approved and grant_state == "active"):
                created = now - timedelta(
                    days=rng.uniform(0, duration - 0.5 if approved else 20), seconds=3600
                )
            else:
                created = now - timedelta(days=rng.uniform(duration + 1, 730))
            decided = None if outcome == ChainStatus.PENDING else created + timedelta(hours=20)

            role_list = CHAIN_BY_CLASSIFICATION[klass]
            # The step where the chain stopped: the last for approved, any for the others.
            stop = len(role_list) - 1 if approved else rng.randrange(len(role_list))
            deciders_used = set()
            for position, role in enumerate(role_list, start=1):
                approver, replaces_owner = None, False
                if role == ApprovalRole.OWNER:
                    if owner == requester:
                        role, replaces_owner = ApprovalRole.COMPLIANCE, True
                    else:
                        approver = owner
                index = position - 1
                if index < stop or (index == stop and outcome == ChainStatus.APPROVED):
                    status = StepStatus.APPROVED
                elif index == stop and outcome == ChainStatus.PENDING:
                    status = StepStatus.OPEN
                elif index == stop and outcome == ChainStatus.DENIED:
                    status = StepStatus.DENIED
                elif index > stop and outcome == ChainStatus.PENDING:
                    status = StepStatus.WAITING
                else:
                    status = StepStatus.CANCELLED
                decided_by = None
                if status in (StepStatus.APPROVED, StepStatus.DENIED):
                    decided_by = self.decider(role, approver, requester, deciders_used)
                    deciders_used.add(decided_by)
                steps.append(
                    (
                        step_pk,
                        chain_pk,
                        position,
                        role,
                        approver,
                        replaces_owner,
                        status,
                        decided_by,
                        created + timedelta(hours=position * 6) if decided_by else None,
                        ("Approved for the stated purpose." if status == "approved" else "")
                        or ("Not justified for this purpose." if status == "denied" else ""),
                        "",
                        "{}",
                    )
                )
                step_pk += 1
            chains.append(
                (
                    chain_pk,
                    ACCESS_CHAIN_KIND,
                    requester,
                    outcome,
                    f"Access to asset {asset_id} for purpose {purpose}",
                    f"{max(1, size // 3):,} of {size:,} customers eligible",
                    f"/requests/{request_pk}/",
                    created,
                    decided,
                )
            )
            requests.append(
                (
                    request_pk,
                    requester,
                    asset_id,
                    purpose,
                    JUSTIFICATION,
                    level,
                    duration,
                    klass,
                    max(1, size // 3),
                    size,
                    chain_pk,
                    created,
                )
            )
            if approved:
                expires = decided + timedelta(days=duration)
                revoked = grant_state == "revoked"
                active = grant_state == "active" and expires > now
                grants.append(
                    (
                        grant_pk,
                        requester,
                        asset_id,
                        purpose,
                        level,
                        request_pk,
                        decided,
                        expires,
                        decided + timedelta(days=1) if revoked else None,
                        owner if revoked else None,
                        "No longer needed for the campaign." if revoked else "",
                        None,
                        not active and not revoked,
                    )
                )
                if active:
                    perms.add((requester, view_perm, asset_id))
                    if level == "export":
                        perms.add((requester, export_perm, asset_id))
                    self.active_grants.append((grant_pk, requester, asset_id, level))
                grant_pk += 1
            chain_pk += 1
            request_pk += 1

        self.load(
            ApprovalChain,
            [
                "id",
                "kind",
                "requester_id",
                "status",
                "title",
                "summary",
                "link",
                "created_at",
                "decided_at",
            ],
            chains,
            len(chains),
            "approval chains",
        )
        self.load(
            ApprovalStep,
            [
                "id",
                "chain_id",
                "position",
                "role",
                "approver_id",
                "replaces_owner",
                "status",
                "decided_by_id",
                "decided_at",
                "reason",
                "requirement",
                "inputs",
            ],
            steps,
            len(steps),
            "approval steps",
        )
        self.load(
            AccessRequest,
            [
                "id",
                "requester_id",
                "asset_id",
                "purpose_id",
                "justification",
                "level",
                "duration_days",
                "classification_at_request",
                "eligible_at_request",
                "total_at_request",
                "chain_id",
                "created_at",
            ],
            requests,
            len(requests),
            "access requests",
        )
        self.load(
            AccessGrant,
            [
                "id",
                "user_id",
                "asset_id",
                "purpose_id",
                "level",
                "request_id",
                "created_at",
                "expires_at",
                "revoked_at",
                "revoked_by_id",
                "revoke_reason",
                "expiry_reminder_sent_at",
                "expiry_processed",
            ],
            grants,
            len(grants),
            "access grants",
        )
        first = next_id(DataAssetUserObjectPermission)
        perm_rows = [(first + n, *row) for n, row in enumerate(sorted(perms))]
        self.load(
            DataAssetUserObjectPermission,
            ["id", "user_id", "permission_id", "content_object_id"],
            perm_rows,
            len(perm_rows),
            "object permissions",
        )

    def decider(self, role: str, approver, requester: int, used: set) -> int:
        """Who decided a step: the owner for an owner step, else a member of the role's
        group who is neither the requester nor the decider of another step (segregation of
        duties)."""
        if role == ApprovalRole.OWNER:
            return approver
        pool = self.compliance if role == ApprovalRole.COMPLIANCE else self.legal
        candidates = [pk for pk in pool if pk != requester and pk not in used]
        return self.rng.choice(candidates or pool)

    def seed_incidents(self) -> None:
        """Reports of suspected mishandling (incidents) in every status, most closed, each
        about one or two assets; acknowledged ones assigned to a compliance officer. No
        regimes or duties are applied (their clocks are the incidents service's work)."""
        from incidents.models import Incident, Severity, Status

        rng, plan, now = self.rng, self.plan, self.now
        first = next_id(Incident)
        statuses = [
            (Status.REPORTED, 0.05),
            (Status.ACKNOWLEDGED, 0.05),
            (Status.INVESTIGATING, 0.1),
            (Status.CONTAINED, 0.1),
            (Status.CLOSED, 0.7),
        ]
        rows, asset_rows = [], []
        for n in range(plan.incidents):
            pk = first + n
            status = weighted(rng, statuses)
            reported = now - timedelta(days=rng.uniform(0.5, 730))
            discovered = reported - timedelta(hours=rng.randint(1, 72))
            handled = status != Status.REPORTED
            breach = rng.choice([None, True, False]) if handled else None
            rows.append(
                (
                    pk,
                    f"INC-{reported:%Y}-{pk:05d}",
                    rng.choice(
                        [
                            "Customer list sent to a wrong address",
                            "Export left on a shared drive",
                            "Laptop with a customer extract lost",
                            "Newsletter sent without consent check",
                        ]
                    ),
                    "Reported through the portal; details in the timeline.",
                    discovered,
                    reported,
                    rng.choice(self.employees),
                    rng.random() < 0.1,
                    rng.choice([None, 10, 250, 5_000]),
                    status,
                    rng.choice(Severity.values) if handled else "",
                    rng.choice(self.compliance) if handled else None,
                    reported + timedelta(hours=4) if handled else None,
                    rng.choice(self.compliance) if handled else None,
                    reported + timedelta(days=14) if status == Status.CLOSED else None,
                    breach,
                    "Personal data left our control." if breach else "",
                    discovered,
                    "",
                    "",
                    None,
                    None,
                    None,
                    None,
                    "",
                    "",
                    None,
                    None,
                )
            )
            for asset in rng.sample(self.assets, min(len(self.assets), rng.randint(1, 2))):
                asset_rows.append((pk, asset[0]))
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "discovered_at",
            "reported_at",
            "reporter_id",
            "confidential_reporter",
            "estimated_customers",
            "status",
            "severity",
            "assignee_id",
            "acknowledged_at",
            "acknowledged_by_id",
            "closed_at",
            "personal_data_breach",
            "breach_reason",
            "aware_at",
            "awareness_reason",
            "no_risk_reason",
            "no_risk_proposed_by_id",
            "no_risk_proposed_at",
            "no_risk_confirmed_by_id",
            "no_risk_confirmed_at",
            "customer_notice",
            "customer_notice_reason",
            "customer_notice_decided_by_id",
            "customer_notice_decided_at",
        ]
        self.load(Incident, fields, rows, len(rows), "incidents")
        self.load(
            Incident.assets.through,
            ["incident_id", "dataasset_id"],
            asset_rows,
            len(asset_rows),
            "incident assets",
        )
        self.loaded_models.append(Incident)

    def seed_notifications(self) -> None:
        rng, plan, now = self.rng, self.plan, self.now
        users = self.employees + self.owners + self.compliance + self.legal
        first = next_id(Notification)

        def rows() -> Iterator[tuple]:
            for n in range(plan.notifications):
                created = now - timedelta(minutes=rng.randint(1, 90 * 24 * 60))
                read = created + timedelta(hours=2) if rng.random() < 0.8 else None
                yield (
                    first + n,
                    rng.choice(users),
                    "request_decided",
                    "Your request was decided",
                    "See the request for the decision and its reason.",
                    "/requests/",
                    "",
                    "",
                    created,
                    None,
                    created + timedelta(seconds=5),
                    read,
                    1,
                    "",
                    None,
                )

        fields = [
            "id",
            "recipient_id",
            "kind",
            "subject",
            "body",
            "link",
            "target_type",
            "target_id",
            "created_at",
            "claimed_at",
            "sent_at",
            "read_at",
            "attempts",
            "last_error",
            "next_attempt_at",
        ]
        self.load(Notification, fields, rows(), plan.notifications, "notifications")

    def seed_audit_trail(self) -> None:
        """Events appended unsealed, as ``audit_record`` writes them, then sealed by the
        sealer itself (position and keyed link), so ``verify_audit`` passes."""
        rng, plan = self.rng, self.plan
        first = next_id(AuditEvent)
        start = self.now - timedelta(days=730)
        step = (self.now - timedelta(minutes=1) - start) / plan.audit_events
        people = self.employees + self.owners
        grants = self.active_grants or [(None, rng.choice(people), self.assets[0][0], "view")]

        def event(n: int) -> dict:
            kind = rng.random()
            if kind < 0.6:
                grant, user, asset, _ = rng.choice(grants)
                action, target = AuditAction.RECORDS_VIEW, ("customers.accessgrant", grant)
                detail = {"page": rng.randint(1, 20), "shown": 50}
            elif kind < 0.7:
                grant, user, asset, _ = rng.choice(grants)
                action, target = AuditAction.EXPORT_DOWNLOAD, ("customers.accessgrant", grant)
                detail = {"export": uuid.UUID(int=rng.getrandbits(128)).hex, "rows": 1200}
            elif kind < 0.85:
                user, asset = rng.choice(people), None
                action, target, detail = AuditAction.AUTH_LOGIN, ("portal.user", user), {}
            else:
                asset, user = rng.choice(self.assets)[:2]
                action = AuditAction.APPROVAL_APPROVE
                target = ("portal.approvalchain", rng.randint(1, 10**6))
                detail = {"kind": ACCESS_CHAIN_KIND, "step": 1, "role": "owner"}
            return {
                "created_at": start + step * n + timedelta(microseconds=rng.randrange(10**6)),
                "actor_id": user,
                "actor_label": self.usernames[user],
                "action": action.value,
                "target_type": target[0],
                "target_id": str(target[1] or ""),
                "target_label": f"{target[0].split('.')[1]} {target[1]}",
                "asset_id": asset,
                "detail": detail,
                "channel": "web" if rng.random() < 0.8 else "api",
                "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "token_id": "",
            }

        def rows() -> Iterator[tuple]:
            for n in range(plan.audit_events):
                values = {**event(n), "previous_hash": "", "key_id": ""}
                row = [values[name] for name in AUDIT_FIELDS[1:]]
                row[AUDIT_FIELDS.index("detail") - 1] = json.dumps(values["detail"])
                yield (first + n, *row)

        self.load(AuditEvent, AUDIT_FIELDS, rows(), plan.audit_events, "audit events")
        seal_pending(batch_size=20_000)
        self.seed_export_ledger(first)

    def seed_export_ledger(self, first: int) -> None:
        """The ledger row of each export event just loaded, as the export service writes
        it beside its event (the dashboard and the impact summary read the ledger)."""
        exports = AuditEvent.objects.filter(
            pk__gte=first, action=AuditAction.EXPORT_DOWNLOAD, target_type="customers.accessgrant"
        ).exclude(target_id="")
        Export.objects.bulk_create(
            (
                Export(
                    export_id=event.detail["export"],
                    grant_id=int(event.target_id),
                    asset_id=event.asset_id,
                    actor_id=event.actor_id,
                    actor_label=event.actor_label,
                    rows=event.detail["rows"],
                    created_at=event.created_at,
                    audit_event_id=event.pk,
                )
                for event in exports.iterator(chunk_size=5000)
            ),
            batch_size=5000,
        )

    # --- end -----------------------------------------------------------------------------

    def reset_sequences(self) -> None:
        """Rows were written with explicit ids: move each id sequence past them."""
        User = get_user_model()
        loaded = [
            User,
            Customer,
            DataAsset,
            AssetCustomer,
            ConsentRecord,
            ApprovalChain,
            ApprovalStep,
            AccessRequest,
            AccessGrant,
            DataAssetUserObjectPermission,
            Notification,
            AuditEvent,
        ]
        statements = connection.ops.sequence_reset_sql(no_style(), loaded + self.loaded_models)
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def counts(self) -> dict[str, int]:
        return {
            "users": get_user_model().objects.filter(username__startswith=USER_PREFIX).count(),
            "customers": Customer.objects.count(),
            "assets": DataAsset.objects.count(),
            "consent records": ConsentRecord.objects.count(),
            "requests": AccessRequest.objects.count(),
            "grants": AccessGrant.objects.count(),
            "incidents": sum(m.objects.count() for m in self.loaded_models),
            "audit events": AuditEvent.objects.count(),
        }


# The audit event columns in COPY order: id, the hashed fields, hash.
AUDIT_FIELDS = ["id", *HASHED_FIELDS, "key_id"]
