"""No object is reachable by a changed id: every URL, every role, every demo object.

The machinery and the expected matrix are in ``tests/portal/url_sweep.py``. The demo data
is seeded once for this module (in a transaction rolled back at its end); each test runs in
a savepoint inside it, with two-factor on and the privileged roles verified.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.portal import url_sweep
from tests.portal.url_sweep import (
    EXPECTED,
    HIDDEN,
    LOGIN,
    PAGE,
    ROLES,
    Url,
    asset_seen,
    sweep,
    unknown_patterns,
    visible,
)

LEAKY_URLCONF = "tests.portal.leaky_urls"


def add_sharing_requests() -> None:
    """The demo seeds no sharing request: alice's to share bob's "Nordic retail customers",
    approved (its package made, then one withdrawal to forward), and carl's, waiting for
    bob, so every sharing URL with an id is swept over real objects."""
    from consent.models import Purpose, SharingPackageCustomer
    from consent.services.sharing import sharing_request_create, sharing_request_decide
    from customers.models.catalogue import DataAsset
    from tests.customers.conftest import consent

    users = {user.username: user for user in get_user_model().objects.all()}
    asset = DataAsset.objects.get(name="Nordic retail customers")

    def share(requester):
        return sharing_request_create(
            actor=users[requester],
            asset=asset,
            purpose=Purpose.objects.get(key="essential.service"),
            justification="The logistics partner delivers the spring orders to them.",
            recipient="Nordic Logistics AS",
            recipient_country="NO",
            agreement_reference="DPA-2024-017",
            agreement_end=timezone.localdate() + timedelta(days=365),
            categories=["user.contact.email"],
        )

    approved = share("alice")
    for decider in (asset.owner.username, "olivia", "lena"):
        approved.refresh_from_db()
        sharing_request_decide(
            sharing_request=approved,
            actor=users[decider],
            approve=True,
            reason="Checked the agreement and the consent coverage.",
        )
    shared = SharingPackageCustomer.objects.filter(package__request=approved).first()
    consent([shared.customer], "third_party_sharing", status="withdrawn")
    share("carl")


def add_import_job() -> None:
    """The demo seeds no consent import job: olivia's rejected one (an unknown purpose), so
    the job page and its error download are swept over a real object."""
    import io

    from consent.services.import_jobs import import_job_submit

    olivia = get_user_model().objects.get(username="olivia")
    import_job_submit(
        actor=olivia,
        file=io.BytesIO(b"customer,purpose,status,effective_at\n1,nonsense,granted,2024-01-01\n"),
        name="sweep.csv",
    )


def add_alerts() -> None:
    """The demo raises no misuse alert: one about alice (three refusals) and one about
    olivia, a compliance officer who must not see an alert about herself."""
    from django.utils import timezone

    from incidents.models import Alert

    users = {user.username: user for user in get_user_model().objects.all()}
    for n, person in enumerate(("alice", "olivia")):
        alert = Alert.objects.create(
            signal="repeated_refusals",
            key=f"sweep:{n}",
            group=f"user:{users[person].pk}",
            subject_label=person,
            summary="3 requests refused or denied within 30 days",
            occurred_at=timezone.now(),
            raised_at=timezone.now(),
            evidence={"events": []},
        )
        alert.subjects.add(users[person])


def add_access_review() -> None:
    """The demo starts no access review: olivia's over every grant of the demo (carl's on
    bob's assets), so every access review URL with an id is swept over real objects."""
    from tests.customers.reviews import start

    start(get_user_model().objects.get(username="olivia"))


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        add_sharing_requests()
        add_import_job()
        add_alerts()
        add_access_review()
        yield
        transaction.set_rollback(True)


def client_for(role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role == "anonymous":
        return client
    user = get_user_model().objects.get(username=role)
    client.force_login(user)
    if role in url_sweep.PRIVILEGED:
        device = TOTPDevice.objects.create(user=user, name="sweep", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def two_factor_on(settings):
    settings.OTP_REQUIRED = True


def test_the_sweep_has_an_object_of_each_kind_to_fill_ids_with(demo_data, db):
    empty = [name for name, load in url_sweep.DEMO_OBJECTS.items() if not load()]
    assert empty == []


def test_every_url_pattern_of_the_site_and_the_api_is_in_the_matrix(demo_data, db):
    assert unknown_patterns() == []


def test_the_matrix_names_no_url_that_is_gone(demo_data, db):
    keys = {endpoint.key for endpoint in url_sweep.endpoints()}
    namespaces = {endpoint.namespace for endpoint in url_sweep.endpoints()}
    stale = [
        key
        for key in EXPECTED
        if key not in keys and not (key.endswith(":*") and key[:-2] in namespaces)
    ]
    assert stale == []


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_the_matrix_says(demo_data, db, two_factor_on, role):
    swept = []
    mismatches = sweep(client_for(role), role, swept=swept)
    assert mismatches == [], "\n".join(mismatches)
    assert len(swept) > 250  # every URL, every demo object, GET and POST


def test_the_sweep_flags_a_url_it_does_not_know(demo_data, db, settings):
    settings.ROOT_URLCONF = LEAKY_URLCONF
    assert unknown_patterns() == ["leaky_asset"]


def test_the_sweep_flags_a_view_that_forgets_its_permission_check(
    demo_data, db, settings, two_factor_on
):
    """The test-only view shows any asset by id, with no login and no visibility check:
    described in the matrix like the real asset page, the sweep catches both holes."""
    settings.ROOT_URLCONF = LEAKY_URLCONF
    expected = {**EXPECTED, "leaky_asset": Url(objects="assets", get=visible(asset_seen))}

    anonymous = sweep(client_for("anonymous"), "anonymous", expected=expected, keys={"leaky_asset"})
    carl = sweep(client_for("carl"), "carl", expected=expected, keys={"leaky_asset"})

    assets = url_sweep.DEMO_OBJECTS["assets"]()
    assert len(assets) >= 4
    assert len(anonymous) == len(assets)  # every demo asset, without logging in
    assert all(f"expected {LOGIN}, got 200" in line for line in anonymous)
    # carl may not see the restricted "Key accounts": the real page says 404, this one shows it.
    assert len(carl) == 1
    assert f"expected {HIDDEN}, got {PAGE}" in carl[0] and "Key accounts" in carl[0]
    # The real asset page, swept the same way, has neither hole.
    assert sweep(client_for("carl"), "carl", keys={"customers:asset_detail"}) == []


def test_the_hostile_sweep_knows_the_fields_of_the_issue_examples():
    fields = url_sweep.input_fields()

    assert fields["discovered_at"][0] == "datetime"
    assert fields["estimated_customers"][0] == "integer"
    assert fields["date_to"][0] == "date"
    assert {"q", "status", "page", "since", "until"} <= set(fields)


@pytest.mark.parametrize("role", url_sweep.HOSTILE_ROLES)
def test_no_url_answers_500_to_hostile_dates_numbers_nul_or_nesting(
    demo_data, db, two_factor_on, role
):
    failures = url_sweep.hostile_sweep(client_for(role), role)
    assert failures == [], "\n".join(failures)
