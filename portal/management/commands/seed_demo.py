"""Demo data for a first look at the portal (idempotent, fixed random seed).

The names here are a contract (design.md, issues): users ``alice``, ``carl``, ``bob``,
``olivia``, ``lena``, ``admin`` with password ``demo``, and the four demo assets. Every
write goes through the apps' services, the same code the portal runs.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from faker import Faker
from simple_history.utils import bulk_create_with_history

from consent.models import ConsentRecord, DataCategory, ProcessingActivity, Purpose
from consent.services.processing_activities import processing_activity_save
from consent.services.records import consent_record
from customers.emails import normalise_email
from customers.models.catalogue import Classification, Customer, DataAsset
from customers.models.subject_requests import DataSubjectRequest
from customers.services.assets import asset_classify, asset_create
from customers.services.subject_requests import (
    erasure_task_confirm,
    subject_request_close,
    subject_request_create,
    subject_request_report,
)
from incidents.models import Incident
from incidents.services.reports import incident_acknowledge, incident_report
from incidents.services.triage import incident_triage
from portal import roles
from portal.audit_seal import seal_pending
from portal.languages import language_codes
from portal.management import demo_texts as texts

DEMO_PASSWORD = "demo"
# In the row history of the assets and customers it creates.
DEMO_REASON = texts.HISTORY_REASON
SEED = 2019

USERS = [
    # username, first, last, groups, superuser, what they do
    ("alice", "Alice", "Andersen", [], False, "employee in marketing"),
    ("carl", "Carl", "Christensen", [], False, "employee in sales"),
    ("bob", "Bob", "Berg", [], False, "data owner of the demo assets"),
    ("olivia", "Olivia", "Olsen", [roles.COMPLIANCE], False, "compliance officer"),
    ("lena", "Lena", "Lund", [roles.LEGAL], False, "legal counsel"),
    ("admin", "Ada", "Admin", [], True, "administrator (Django admin only)"),
    # A second data owner, so an erasure has tasks for two owners.
    ("dora", "Dora", "Dahl", [], False, "data owner of the event attendees list"),
]


@dataclass(frozen=True)
class DemoAsset:
    name: str
    description: str
    classification: str
    confirmed: bool
    customers: int
    categories: tuple[str, ...]
    collected_for: tuple[str, ...]
    source_system: str
    organisations: bool = False


ASSETS = [
    DemoAsset(
        "Nordic retail customers",
        "Retail customers in Norway, Sweden, Denmark and Finland from the web shop.",
        Classification.CONFIDENTIAL,
        True,
        1200,
        ("user.contact.email", "user.name", "user.contact.phone_number"),
        ("essential.service",),
        "Web shop (Nordics)",
    ),
    DemoAsset(
        "Newsletter subscribers",
        "People who signed up for the monthly product newsletter.",
        Classification.INTERNAL,
        True,
        400,
        ("user.contact.email", "user.name"),
        ("marketing.communications.email",),
        "Newsletter platform",
    ),
    DemoAsset(
        "Key accounts",
        "Our largest business customers, with their contacts and contract values.",
        Classification.RESTRICTED,
        True,
        50,
        ("user.contact.email", "user.name", "user.contact.phone_number", "user.workplace"),
        ("essential.service",),
        "CRM",
        organisations=True,
    ),
    DemoAsset(
        "Legacy import 2019",
        "Contacts imported from the 2019 CRM migration; origin and consents unknown.",
        Classification.CONFIDENTIAL,
        False,
        800,
        ("user.contact.email", "user.name"),
        (),
        "CRM migration 2019",
    ),
]

CLASSIFICATION_REASONS = {
    "Nordic retail customers": "Personal contact data of retail customers; confidential.",
    "Newsletter subscribers": "E-mail and name only, shared with the marketing team.",
    "Key accounts": "Contract values and named contacts of our largest customers.",
}

# Consent: the demo consents are dated in the past, from a fixed start.
DEMO_EVIDENCE = "demo-seed"
DEMO_CONSENT_START = datetime(2023, 1, 1, 9, 0, tzinfo=UTC)
DEMO_CONSENT_PURPOSES = ("marketing", "marketing.communications.email", "third_party_sharing")

# Data subject requests.
DEMO_DSR_NOTE = "demo"
DEMO_EVENTS_ASSET = "Event attendees 2024"

# The activities of the record of processing activities, and the purpose each serves.
DEMO_ACTIVITIES = {
    "Customer service": "essential.service",
    "E-mail marketing": "marketing.communications.email",
}

COUNTRIES = ["NO", "SE", "DK", "FI"]
LOCALES = {"NO": "no_NO", "SE": "sv_SE", "DK": "da_DK", "FI": "fi_FI"}


class Command(BaseCommand):
    help = "Load the demo users, assets and customers (idempotent: safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts-only",
            action="store_true",
            help="Only print the demo accounts and what to try.",
        )
        parser.add_argument(
            "--no-accounts",
            action="store_true",
            help="Load the data without printing the accounts (`make run` prints them last).",
        )
        parser.add_argument(
            "--language",
            choices=language_codes(),
            default="",
            help="The language every new demo person has chosen (nb: a Norwegian demo): "
            "their pages, e-mails and the texts the demo stores are written in it.",
        )

    def seed_activities(self, users):
        """The record of processing activities' demo activities, each serving one purpose
        (skipped when already there)."""
        for name, key in DEMO_ACTIVITIES.items():
            if not ProcessingActivity.objects.filter(name=name).exists():
                purposes = Purpose.objects.filter(key=key)
                processing_activity_save(actor=users["olivia"], name=name, purposes=purposes)

    def handle(self, *args, **options):
        if options["accounts_only"]:
            self.stdout.write(self.accounts_text())
            return
        self.language = options["language"]
        with transaction.atomic(), translation.override(self.language or None):
            users = self.seed_users()
            created = self.seed_assets(users)
            self.seed_incidents(users)
            consents = self.seed_consents(users)
            requests = self.seed_access_requests(users)
            subject_requests = self.seed_subject_requests(users)
            self.seed_activities(users)
        # The demo's audit events verify at once, without waiting for the beat sealer.
        seal_pending()
        self.stdout.write(
            f"Demo data ready ({created} assets created, {len(ASSETS) - created} already there)."
        )
        if consents:
            self.stdout.write(f"Demo consents recorded: {consents}.")
        if requests:
            self.stdout.write(f"Demo access requests created: {requests}.")
        if subject_requests:
            self.stdout.write(f"Demo data subject requests created: {subject_requests}.")
        if not options["no_accounts"]:
            self.stdout.write(self.accounts_text())

    def seed_users(self) -> dict:
        User = get_user_model()
        users = {}
        for username, first, last, groups, superuser, _ in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.com",
                    is_superuser=superuser,
                    is_staff=superuser,
                    language=getattr(self, "language", ""),
                )
                user.set_password(DEMO_PASSWORD)
                user.save()
                for name in groups:
                    user.groups.add(Group.objects.get(name=name))
            users[username] = user
        return users

    def seed_assets(self, users) -> int:
        rng = random.Random(SEED)
        created = 0
        for index, spec in enumerate(ASSETS):
            if DataAsset.objects.filter(name=spec.name).exists():
                continue
            customers = self.make_customers(spec, rng, seed=SEED + index, actor=users["bob"])
            asset = asset_create(
                actor=users["bob"],
                name=spec.name,
                owner=users["bob"],
                description=spec.description,
                source_system=spec.source_system,
                data_categories=DataCategory.objects.filter(key__in=spec.categories),
                collected_for=Purpose.objects.filter(key__in=spec.collected_for),
                customers=customers,
                reason=str(DEMO_REASON),
            )
            if spec.confirmed:
                asset_classify(
                    asset=asset,
                    actor=users["olivia"],
                    classification=spec.classification,
                    reason=CLASSIFICATION_REASONS[spec.name],
                )
            elif spec.classification != asset.classification:
                raise AssertionError("An unconfirmed demo asset keeps the default class.")
            created += 1
        return created

    def seed_incidents(self, users) -> None:
        """Three demo incidents, each created once: an acknowledged breach with its GDPR
        clock running, a fresh unacknowledged (confidential) report by carl, a closed one."""
        now = timezone.now()
        self.seed_breach(users, now)
        self.report_once(
            users["carl"],
            str(texts.SHARED_DRIVE_TITLE),
            description=str(texts.SHARED_DRIVE),
            discovered_at=now - timedelta(minutes=10),
            assets=DataAsset.objects.filter(name="Nordic retail customers"),
            confidential_reporter=True,
        )
        self.seed_closed_incident(users, now)

    @staticmethod
    def report_once(reporter, title: str, **fields) -> Incident | None:
        """``reporter`` reports the incident ``title``; ``None`` when it is already there."""
        if Incident.objects.filter(title=title).exists():
            return None
        return incident_report(actor=reporter, title=title, **fields)

    def seed_breach(self, users, now: datetime) -> None:
        """alice's newsletter breach, acknowledged and triaged by olivia."""
        breach = self.report_once(
            users["alice"],
            str(texts.NEWSLETTER_TITLE),
            description=str(texts.NEWSLETTER),
            discovered_at=now - timedelta(hours=20),
            assets=DataAsset.objects.filter(name="Newsletter subscribers"),
            estimated_customers=400,
        )
        if breach:
            incident_acknowledge(actor=users["olivia"], incident=breach)
            incident_triage(
                actor=users["olivia"],
                incident=breach,
                severity="high",
                status="investigating",
                personal_data_breach=True,
                breach_reason=str(texts.NEWSLETTER_BREACH),
            )

    def seed_closed_incident(self, users, now: datetime) -> None:
        """bob's printout, judged no breach by lena and taken through to closed."""
        closed = self.report_once(
            users["bob"],
            str(texts.PRINTOUT_TITLE),
            description=str(texts.PRINTOUT),
            discovered_at=now - timedelta(days=12),
        )
        if closed:
            incident_acknowledge(actor=users["lena"], incident=closed)
            incident_triage(
                actor=users["lena"],
                incident=closed,
                severity="low",
                personal_data_breach=False,
                breach_reason=str(texts.PRINTOUT_NO_BREACH),
            )
            for status in ("investigating", "contained", "closed"):
                incident_triage(actor=users["lena"], incident=closed, status=status)

    def make_customers(self, spec: DemoAsset, rng: random.Random, *, seed: int, actor):
        fakers = {country: Faker(locale) for country, locale in LOCALES.items()}
        for number, fake in enumerate(fakers.values()):
            fake.seed_instance(seed * 10 + number)
        slug = "".join(ch for ch in spec.name.lower() if ch.isalnum())[:12]
        rows = []
        for i in range(spec.customers):
            country = rng.choice(COUNTRIES)
            fake = fakers[country]
            name = fake.company() if spec.organisations else fake.name()
            rows.append(
                Customer(
                    name=name,
                    # bulk_create skips Customer.save(), which normalises addresses.
                    email=normalise_email(f"{slug}.{i:04d}@example.{country.lower()}"),
                    phone=fake.phone_number(),
                    organisation=fake.company() if spec.organisations else "",
                    country=country,
                )
            )
        demo = {"default_user": actor, "default_change_reason": str(DEMO_REASON)}
        return bulk_create_with_history(rows, Customer, batch_size=1000, **demo)

    # --- Consent ----------------------------------------------------------------------
    def seed_consents(self, users) -> int:
        """Consents for the demo assets, recorded by olivia through the consent service.

        About a quarter of Nordic retail customers agreed to marketing e-mail (some of them
        withdrew later), every newsletter subscriber agreed to ``marketing``, nobody in
        Legacy import 2019 agreed to anything, and a few dozen Nordic retail customers
        agreed to third-party sharing. Skipped when the demo consents are already there.
        """
        if ConsentRecord.objects.filter(evidence__startswith=DEMO_EVIDENCE).exists():
            return 0
        rng = random.Random(SEED + 5)
        olivia = users["olivia"]
        purposes = {p.key: p for p in Purpose.objects.filter(key__in=DEMO_CONSENT_PURPOSES)}
        recorded = 0

        def record(customer, key, status, when, source="web_form"):
            nonlocal recorded
            consent_record(
                actor=olivia,
                customer=customer,
                purpose=purposes[key],
                status=status,
                source=source,
                evidence=f"{DEMO_EVIDENCE}-{key}-{customer.pk}-{status}",
                notice_version="2023-01",
                effective_at=when,
            )
            recorded += 1

        def day(start: datetime, span_days: int) -> datetime:
            return start + timedelta(days=rng.randrange(span_days), minutes=rng.randrange(1440))

        nordic = list(
            Customer.objects.filter(assets__name="Nordic retail customers").order_by("pk")
        )
        agreed = rng.sample(nordic, len(nordic) // 4)
        withdrew = set(rng.sample(range(len(agreed)), len(agreed) // 8))
        for index, customer in enumerate(agreed):
            granted_at = day(DEMO_CONSENT_START, 365)
            record(customer, "marketing.communications.email", "granted", granted_at)
            if index in withdrew:
                record(
                    customer,
                    "marketing.communications.email",
                    "withdrawn",
                    granted_at + timedelta(days=30 + rng.randrange(300)),
                    source="email",
                )
        for customer in rng.sample(nordic, 36):
            record(customer, "third_party_sharing", "granted", day(DEMO_CONSENT_START, 365))
        subscribers = Customer.objects.filter(assets__name="Newsletter subscribers").order_by("pk")
        for customer in subscribers:
            record(customer, "marketing", "granted", day(DEMO_CONSENT_START, 365))
        return recorded

    def seed_access_requests(self, users) -> int:
        """One request waiting for bob, one waiting for olivia, one active grant for carl,
        so every role sees something on first login."""
        from consent.models import Purpose
        from customers.services.access import access_request_create, access_request_decide

        plans = [
            # requester, asset, purpose, level, approvers in order
            ("alice", "Newsletter subscribers", "marketing.communications.email", "export", []),
            ("carl", "Nordic retail customers", "essential.service", "view", ["bob"]),
            ("carl", "Newsletter subscribers", "marketing.communications.email", "view", ["bob"]),
        ]
        created = 0
        for username, asset_name, key, level, approvers in plans:
            asset = DataAsset.objects.get(name=asset_name)
            purpose = Purpose.objects.get(key=key)
            if asset.access_requests.filter(requester=users[username], purpose=purpose).exists():
                continue
            access_request = access_request_create(
                actor=users[username],
                asset=asset,
                purpose=purpose,
                justification=str(texts.JUSTIFICATIONS[username]),
                level=level,
                duration_days=30,
            )
            for approver in approvers:
                access_request_decide(
                    access_request=access_request,
                    actor=users[approver],
                    approve=True,
                    reason=str(texts.APPROVAL),
                )
            created += 1
        return created

    # --- Data subject requests and retention ---------------------------------------------
    def seed_subject_requests(self, users) -> int:
        """dora's "Event attendees 2024" (past its retention date) shares two customers with
        bob's lists; one asked to be erased (bob confirmed, dora has not yet), the other
        asked what we hold (answered with the report). Skipped when already there."""
        if DataSubjectRequest.objects.filter(notes__startswith=DEMO_DSR_NOTE).exists():
            return 0
        olivia, bob, dora = users["olivia"], users["bob"], users["dora"]
        subscribers = Customer.objects.filter(assets__name="Newsletter subscribers")
        erased, answered = list(subscribers.order_by("pk")[:2])
        if not DataAsset.objects.filter(name=DEMO_EVENTS_ASSET).exists():
            self.seed_events_asset(dora, also=[erased, answered])
        received = timezone.localdate() - timedelta(days=10)
        erasure = subject_request_create(
            actor=olivia,
            type="erasure",
            customer=erased,
            identity_verification=str(texts.ERASURE_IDENTITY),
            received_on=received,
            received_via="email",
            notes=f"{DEMO_DSR_NOTE}: {texts.ERASURE_NOTE}",
        )
        bob_task = erasure.erasure_tasks.get(owner=bob)
        erasure_task_confirm(actor=bob, task=bob_task, note=str(texts.ERASURE_DONE))
        access = subject_request_create(
            actor=olivia,
            type="access",
            customer=answered,
            identity_verification=str(texts.ACCESS_IDENTITY),
            received_on=received,
            received_via="web_form",
            notes=f"{DEMO_DSR_NOTE}: {texts.ACCESS_NOTE}",
        )
        subject_request_report(actor=olivia, subject_request=access)
        subject_request_close(
            actor=olivia,
            subject_request=access,
            response=str(texts.ACCESS_ANSWER),
        )
        return 2

    def seed_events_asset(self, dora, *, also: list[Customer]) -> DataAsset:
        """dora's "Event attendees 2024", past its retention date: 30 attendees of its own
        and the customers ``also`` (who are on bob's lists too)."""
        rng = random.Random(SEED + 12)
        spec = DemoAsset(DEMO_EVENTS_ASSET, "", Classification.INTERNAL, False, 30, (), (), "")
        attendees = self.make_customers(spec, rng, seed=SEED + 12, actor=dora)
        return asset_create(
            actor=dora,
            name=DEMO_EVENTS_ASSET,
            owner=dora,
            description="People who signed up for the 2024 customer events.",
            source_system="Event registration tool",
            retention_date=date(2025, 6, 30),
            data_categories=DataCategory.objects.filter(
                key__in=["user.contact.email", "user.name"]
            ),
            collected_for=Purpose.objects.filter(key__in=["essential.service"]),
            customers=[*attendees, *also],
            reason=str(DEMO_REASON),
        )

    @staticmethod
    def accounts_text() -> str:
        """The demo accounts and what to try with them (``templates/portal/
        demo_what_to_try.txt``), printed by ``make run``."""
        lines = ["", "Demo accounts (password for all: demo):"]
        for username, first, last, _, _, what in USERS:
            lines.append(f"  {username:<7} {first} {last}, {what}")
        lines += ["", render_to_string("portal/demo_what_to_try.txt").rstrip()]
        return "\n".join(lines)
