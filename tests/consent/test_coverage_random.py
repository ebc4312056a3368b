"""Coverage and eligibility (the export's ids too) on PostgreSQL against a brute-force Python
reading of the raw records."""

import csv
import io
import random
from datetime import timedelta

import pytest

from consent.models import ConsentRecord, ConsentState, LawfulBasis, Purpose, key_and_ancestors
from consent.selectors import coverage_for, eligible_customer_ids, eligible_customers
from consent.services import imports
from consent.services.imports import IMPORT_COLUMNS, consent_import, consent_state_rebuild
from consent.services.records import consent_record
from tests.consent.conftest import at
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

KEYS = [
    "marketing",
    "marketing.communications",
    "marketing.communications.email",
    "marketing.communications.sms",
    "third_party_sharing",
    "essential",
    "essential.service",
    "analytics",
    "analytics.reporting",
]


def brute_force_eligible(asset, purpose, records_by_customer, collected_keys, also=()):
    """The rule read literally, one customer at a time, from every record."""

    def latest_status(records, key):
        covering = [r for r in records if r.purpose.key in key_and_ancestors(key)]
        if not covering:
            return None
        # Latest effective date; on a tie the withdrawal wins.
        return max(covering, key=lambda r: (r.effective_at, r.status == "withdrawn")).status

    collected = any(k in collected_keys for k in key_and_ancestors(purpose.key))
    eligible = set()
    for customer in asset.customers.all():
        records = records_by_customer.get(customer.pk, [])
        state = latest_status(records, purpose.key)
        if purpose.lawful_basis == LawfulBasis.CONSENT or not collected:
            ok = state == "granted"
        elif purpose.lawful_basis == LawfulBasis.LEGITIMATE_INTEREST:
            ok = state != "withdrawn"
        else:
            ok = True
        if ok and all(latest_status(records, p.key) == "granted" for p in also):
            eligible.add(customer.pk)
    return eligible


def random_history_csv(rng, customers) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPORT_COLUMNS)
    seen = set()
    for customer in customers:
        for _ in range(rng.randint(0, 7)):
            key = rng.choice(KEYS)
            status = rng.choice(["granted", "granted", "withdrawn"])
            day = rng.randint(0, 12)  # few distinct days: ties are frequent
            if (customer.pk, key, day, status) in seen:
                continue
            seen.add((customer.pk, key, day, status))
            when = at(day).isoformat()
            writer.writerow([customer.pk, key, status, "web_form", "ev", "v1", when])
    return out.getvalue().encode()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_matches_a_brute_force_computation_on_random_histories(
    seed, owner, compliance_officer, monkeypatch
):
    rng = random.Random(seed)
    Purpose.objects.filter(key="analytics").update(lawful_basis=LawfulBasis.LEGITIMATE_INTEREST)
    Purpose.objects.filter(key="analytics.reporting").update(
        lawful_basis=LawfulBasis.LEGITIMATE_INTEREST
    )
    customers = CustomerFactory.create_batch(300)
    plain = DataAssetFactory(owner=owner, customers=customers[:250])
    collected = DataAssetFactory(
        owner=owner, customers=customers[100:], collected_for=["essential", "analytics"]
    )
    # Small batches, rows in random order: the current state must not depend on the order
    # records arrive in, within a batch or across batches.
    monkeypatch.setattr(imports, "IMPORT_BATCH_SIZE", 97)
    rows = random_history_csv(rng, customers).decode().splitlines()
    header, body = rows[0], rows[1:]
    rng.shuffle(body)
    consent_import(actor=compliance_officer, file=io.BytesIO("\n".join([header, *body]).encode()))
    # And a few more one at a time through the service, some of them late-entered.
    for minute, customer in enumerate(rng.sample(customers, 40), start=1):
        consent_record(
            actor=compliance_officer,
            customer=customer,
            purpose=Purpose.objects.get(key=rng.choice(KEYS)),
            status=rng.choice(["granted", "withdrawn"]),
            source="phone",
            evidence="call",
            notice_version="v2",
            effective_at=at(rng.randint(0, 14)) + timedelta(minutes=minute),
        )

    records_by_customer = {}
    for record in ConsentRecord.objects.select_related("purpose"):
        records_by_customer.setdefault(record.customer_id, []).append(record)
    assert len(records_by_customer) > 200
    sharing = Purpose.objects.get(key="third_party_sharing")
    checked = 0
    for asset in (plain, collected):
        collected_keys = set(asset.collected_for.values_list("key", flat=True))
        for key in KEYS + [
            "marketing.communications.email",
            "essential.service.payment_processing",
        ]:
            purpose = Purpose.objects.get(key=key)
            for also in ((), (sharing,)):
                expected = brute_force_eligible(
                    asset, purpose, records_by_customer, collected_keys, also
                )
                got = set(
                    eligible_customers(asset, purpose, also_requires=also).values_list(
                        "pk", flat=True
                    )
                )
                assert got == expected, (asset.name, key, also)
                # The export's ids: the same customers, each once.
                ids = eligible_customer_ids(asset, purpose, also_requires=also)
                assert sorted(row["customer_id"] for row in ids) == sorted(expected)
                coverage = coverage_for(asset, purpose, also_requires=also)
                assert (coverage.eligible, coverage.total) == (
                    len(expected),
                    asset.customers.count(),
                )
                checked += 1
    assert checked == 2 * 11 * 2


def test_rebuilding_the_current_state_from_the_records_changes_nothing(owner, compliance_officer):
    rng = random.Random(7)
    customers = CustomerFactory.create_batch(200)
    body = random_history_csv(rng, customers).decode().splitlines()
    header, rows = body[0], body[1:]
    rng.shuffle(rows)
    consent_import(actor=compliance_officer, file=io.BytesIO("\n".join([header, *rows]).encode()))
    kept = set(ConsentState.objects.values_list("customer_id", "purpose_id", "status", "record"))

    consent_state_rebuild()

    rebuilt = set(ConsentState.objects.values_list("customer_id", "purpose_id", "status", "record"))
    assert rebuilt == kept and len(kept) > 300
