"""Misuse signals: each pattern raises exactly one alert, just under its threshold none, and
a rerun or a late catch-up of the job no duplicate. The patterns are made through the
portal's own services (refusals, grants, record views, exports, revocations)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from consent.models import Purpose
from customers.services.exports import grant_export_start, records_viewed
from customers.services.grants import grant_revoke
from incidents.models import Alert, MisuseSignalCursor
from incidents.services.alerts import alerts_evaluate
from incidents.tasks import evaluate_misuse_signals
from portal.errors import CoverageRefusal
from tests.customers.conftest import EMAIL_MARKETING, consent
from tests.customers.test_access_requests import ask
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def email_marketing(db):
    return Purpose.objects.get(key=EMAIL_MARKETING)


@pytest.fixture
def unconsented(owner):
    """Assets whose customers never agreed to marketing e-mail: every request is refused."""
    return [DataAssetFactory(owner=owner, name=f"Legacy {n}", customers=3) for n in range(4)]


@pytest.fixture
def retail(owner):
    """10 customers, the first 4 agreed to marketing e-mail."""
    asset = DataAssetFactory(owner=owner, name="Retail list", customers=10)
    consent(list(asset.customers.order_by("id")[:4]))
    return asset


def refuse(person, asset, purpose) -> None:
    with pytest.raises(CoverageRefusal):
        ask(person, asset, purpose)


def alerts(signal: str) -> list[Alert]:
    return list(Alert.objects.filter(signal=signal).prefetch_related("subjects"))


def subjects(alert: Alert) -> set[str]:
    return {user.username for user in alert.subjects.all()}


# --- repeated refusals -----------------------------------------------------------------


def test_three_refusals_within_30_days_raise_one_alert_and_a_rerun_none(
    requester, unconsented, email_marketing
):
    for day, asset in enumerate(unconsented[:3]):
        with time_machine.travel(T0 + timedelta(days=10 * day), tick=False):
            refuse(requester, asset, email_marketing)

    with time_machine.travel(T0 + timedelta(days=21), tick=False):
        assert alerts_evaluate() == 1
        assert alerts_evaluate() == 0

    [alert] = alerts("repeated_refusals")
    assert subjects(alert) == {"req"}
    assert len(alert.evidence["events"]) == 3
    assert alert.occurred_at == T0 + timedelta(days=20)


def test_two_refusals_or_three_spread_over_more_than_30_days_raise_none(
    requester, unconsented, email_marketing
):
    for day, asset in zip((0, 20, 31), unconsented, strict=False):
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            refuse(requester, asset, email_marketing)

    assert alerts_evaluate() == 0
    assert not Alert.objects.exists()


def test_a_fourth_refusal_continues_the_same_pattern_without_a_second_alert(
    requester, unconsented, email_marketing
):
    for day, asset in enumerate(unconsented):
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            refuse(requester, asset, email_marketing)
            alerts_evaluate()

    assert len(alerts("repeated_refusals")) == 1


def test_the_third_refusal_raises_its_alert_at_once_without_waiting_for_the_job(
    requester, unconsented, email_marketing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for asset in unconsented[:2]:
            refuse(requester, asset, email_marketing)
    assert not Alert.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        refuse(requester, unconsented[2], email_marketing)

    assert len(alerts("repeated_refusals")) == 1


def test_a_job_that_did_not_run_catches_up_and_a_reset_cursor_raises_no_duplicate(
    requester, unconsented, email_marketing
):
    for asset in unconsented[:3]:
        refuse(requester, asset, email_marketing)
    assert evaluate_misuse_signals() == 1

    MisuseSignalCursor.objects.update(last_position=0)  # everything read again
    assert evaluate_misuse_signals() == 0
    assert Alert.objects.count() == 1


# --- proxy requests --------------------------------------------------------------------


def test_a_second_person_asking_for_the_same_list_and_purpose_within_7_days_is_one_alert(
    requester, outsider, unconsented, email_marketing
):
    with time_machine.travel(T0, tick=False):
        refuse(requester, unconsented[0], email_marketing)
    with time_machine.travel(T0 + timedelta(days=6, hours=23), tick=False):
        refuse(outsider, unconsented[0], email_marketing)
        refuse(outsider, unconsented[0], email_marketing)  # asks twice: the same occurrence

    assert alerts_evaluate() == 1
    assert alerts_evaluate() == 0
    [alert] = alerts("proxy_request")
    assert subjects(alert) == {"req", "out"}
    assert alert.subject_label == "req, out"


def test_a_second_person_asking_after_7_days_or_for_another_purpose_is_no_alert(
    requester, outsider, unconsented, email_marketing
):
    with time_machine.travel(T0, tick=False):
        refuse(requester, unconsented[0], email_marketing)
    with time_machine.travel(T0 + timedelta(days=7, minutes=1), tick=False):
        refuse(outsider, unconsented[0], email_marketing)
        refuse(outsider, unconsented[1], email_marketing)

    alerts_evaluate()
    assert not alerts("proxy_request")


# --- unusual export volume ---------------------------------------------------------------


def export_on(grant, person, day: datetime, times: int) -> None:
    with time_machine.travel(day, tick=False):
        for _ in range(times):
            grant_export_start(grant=grant, actor=person)


@pytest.fixture
def export_grant(requester, compliance_officer, retail, email_marketing):
    with time_machine.travel(T0 - timedelta(days=5), tick=False):
        return approved_grant(requester, retail, email_marketing, level="export", days=60)


@pytest.mark.parametrize(("exports", "alerted"), [(6, 1), (5, 0)])
def test_a_day_of_exports_above_5_times_the_usual_day_and_the_floor_is_one_alert(
    settings, requester, export_grant, exports, alerted
):
    settings.MISUSE_EXPORT_MIN_ROWS = 5  # one 4-row export is under it, as 1,000 rows are
    for day in range(3):  # usual: one export of 4 rows a day
        export_on(export_grant, requester, T0 + timedelta(days=day), 1)
    export_on(export_grant, requester, T0 + timedelta(days=3), exports)  # 24 rows, or 20

    with time_machine.travel(T0 + timedelta(days=3, hours=1), tick=False):
        assert alerts_evaluate() == alerted
        assert alerts_evaluate() == 0
    if alerted:
        [alert] = alerts("export_volume")
        assert alert.evidence["rows"] == 4 * exports and alert.evidence["median"] == 4
        assert subjects(alert) == {"req"}


def test_a_big_first_export_day_below_1000_rows_is_no_alert(requester, export_grant):
    export_on(export_grant, requester, T0, 10)  # 40 rows: unusual, but a small list

    assert alerts_evaluate() == 0


# --- breadth of grants for one purpose ---------------------------------------------------


@pytest.mark.parametrize(("assets", "alerted"), [(3, 1), (2, 0)])
def test_grants_on_more_assets_than_allowed_for_one_purpose_are_one_alert(
    settings, requester, owner, compliance_officer, email_marketing, assets, alerted
):
    settings.MISUSE_BREADTH_ASSETS = 2
    for n in range(assets):
        asset = DataAssetFactory(owner=owner, name=f"List {n}", customers=2)
        consent(list(asset.customers.all()))
        approved_grant(requester, asset, email_marketing, level="view")

    assert alerts_evaluate() == alerted
    assert alerts_evaluate() == 0
    if alerted:
        [alert] = alerts("purpose_breadth")
        assert len(alert.evidence["assets"]) == 3


# --- reading after notice --------------------------------------------------------------


@pytest.fixture
def view_grant(requester, compliance_officer, retail, email_marketing):
    return approved_grant(requester, retail, email_marketing, level="view")


def test_records_read_through_a_revoked_grant_are_one_alert(
    requester, compliance_officer, view_grant
):
    records_viewed(grant=view_grant, actor=requester, page_number=1, shown=4)
    grant_revoke(grant=view_grant, actor=compliance_officer, reason="Campaign cancelled early.")
    assert alerts_evaluate() == 0  # reading before the revocation is the grant's use

    # A fault let a read through after the revocation: the audit trail shows it.
    records_viewed(grant=view_grant, actor=requester, page_number=2, shown=4)

    assert alerts_evaluate() == 1
    assert alerts_evaluate() == 0
    [alert] = alerts("read_after_notice")
    assert subjects(alert) == {"req"} and alert.evidence["grant"] == view_grant.pk


def test_records_read_after_the_account_was_deactivated_are_one_alert(requester, view_grant):
    records_viewed(grant=view_grant, actor=requester, page_number=1, shown=4)
    requester.is_active = False
    requester.save()
    records_viewed(grant=view_grant, actor=requester, page_number=2, shown=4)

    assert alerts_evaluate() == 1
    [alert] = alerts("read_after_notice")
    assert "deactivated" in alert.summary


def test_other_people_reading_is_no_alert(view_grant, requester):
    UserFactory(username="leaver", is_active=False)
    records_viewed(grant=view_grant, actor=requester, page_number=1, shown=4)

    assert alerts_evaluate() == 0
