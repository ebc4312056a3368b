"""Small rules every app reads from one place: the minimum length of a written reason, the
members of a role, the acknowledgement deadline of a report, calendar months."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from consent.models import SharingRequest, SharingWithdrawal
from consent.services.recipient_deletion import sharing_deletion_confirm
from consent.services.withdrawal_forwarding import sharing_withdrawal_forwarded
from customers.models.access import AccessGrant
from customers.services.access import access_request_create, access_request_decide
from customers.services.grants import grant_revoke
from incidents.services.escalation import incidents_escalate_unacknowledged
from incidents.services.reports import incident_report
from portal import roles
from portal.errors import ApplicationError
from portal.input_limits import latest_future_date
from portal.models import StepStatus
from portal.reasons import MIN_REASON_LENGTH
from tests.conftest import add_to_group
from tests.consent.test_sharing import SHARING, customers_of, package, shared_asset  # noqa: F401
from tests.customers.conftest import (  # noqa: F401
    JUSTIFICATION,
    confidential_asset,
    consent,
    email_marketing,
)
from tests.customers.test_grants import approved_grant
from tests.factories import UserFactory
from tests.portal.test_dashboard import home, section

pytestmark = pytest.mark.django_db

NINE = "Fine, ok."  # one character short of the minimum
TEN = "Fine, okay"


def test_the_minimum_is_ten_characters():
    assert (len(NINE), len(TEN)) == (MIN_REASON_LENGTH - 1, MIN_REASON_LENGTH) == (9, 10)


def test_an_approval_decision_needs_the_same_reason_as_any_other_decision(
    requester,
    owner,
    confidential_asset,  # noqa: F811
    email_marketing,  # noqa: F811
):
    access_request = access_request_create(
        actor=requester,
        asset=confidential_asset,
        purpose=email_marketing,
        justification=JUSTIFICATION,
    )

    def decide(reason):
        access_request_decide(
            access_request=access_request, actor=owner, approve=True, reason=reason
        )

    with pytest.raises(ApplicationError, match="at least 10 characters") as refused:
        decide(NINE)
    assert refused.value.field == "reason"
    first = access_request.chain.steps.order_by("position").first()
    assert first.status == StepStatus.OPEN

    decide(TEN)
    first.refresh_from_db()
    assert (first.status, first.reason) == (StepStatus.APPROVED, TEN)


def test_a_revocation_needs_the_same_reason(
    requester,
    owner,
    compliance_officer,
    confidential_asset,  # noqa: F811
    email_marketing,  # noqa: F811
):
    grant = approved_grant(requester, confidential_asset, email_marketing)

    with pytest.raises(ApplicationError, match="revoking this grant.*at least 10 characters"):
        grant_revoke(grant=grant, actor=owner, reason=NINE)
    assert AccessGrant.objects.get(pk=grant.pk).revoked_at is None

    grant_revoke(grant=grant, actor=owner, reason=TEN)
    assert AccessGrant.objects.get(pk=grant.pk).revoke_reason == TEN


def test_a_sharing_note_and_deletion_evidence_need_the_same_length(
    package,  # noqa: F811
    compliance_officer,
    shared_asset,  # noqa: F811
):
    consent([customers_of(shared_asset)[0]], SHARING, status="withdrawn")
    withdrawal = SharingWithdrawal.objects.get()

    with pytest.raises(ApplicationError, match="how the recipient was told.*10 characters"):
        sharing_withdrawal_forwarded(
            withdrawal=withdrawal, actor=compliance_officer, note="Phoned\n   us"
        )
    assert SharingWithdrawal.objects.get().forwarded_at is None
    with pytest.raises(ApplicationError, match="confirmation is kept.*10 characters"):
        sharing_deletion_confirm(
            sharing_request=package.request, actor=compliance_officer, evidence="Ticket 42"
        )
    assert SharingRequest.objects.get().deletion_confirmed_at is None

    # Line breaks and runs of spaces become one space, then the length counts.
    sharing_withdrawal_forwarded(
        withdrawal=withdrawal, actor=compliance_officer, note="Phoned\n  them on Monday."
    )
    sharing_deletion_confirm(
        sharing_request=package.request, actor=compliance_officer, evidence="Ticket 421"
    )
    assert SharingWithdrawal.objects.get().note == "Phoned them on Monday."
    assert SharingRequest.objects.get().deletion_evidence == "Ticket 421"


def test_the_members_of_a_role_are_its_active_holders_each_once(
    compliance_officer, legal_counsel, outsider
):
    both = add_to_group(add_to_group(UserFactory(username="both"), roles.COMPLIANCE), roles.LEGAL)
    gone = add_to_group(UserFactory(username="gone", is_active=False), roles.COMPLIANCE)

    members = list(roles.role_members(roles.COMPLIANCE, roles.LEGAL))

    assert sorted(user.username for user in members) == ["both", "comp", "legal"]
    assert gone not in roles.role_members(roles.COMPLIANCE)
    assert both in roles.role_members(roles.LEGAL)


def test_the_dashboard_shows_a_report_late_exactly_when_it_is_escalated(
    settings, client, requester, compliance_officer
):
    # A setting of 0 minutes counts as one, for the job and the dashboard alike.
    settings.INCIDENT_ACK_SLA = 0
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        report = incident_report(
            actor=requester, title="Laptop lost", description="Left on the train."
        )
        assert incidents_escalate_unacknowledged() == 0
        (row,) = section(home(client, compliance_officer), "open-incidents").context["incidents"]
        assert not row.late
        assert row.ack_due == report.reported_at + timedelta(minutes=1)

    with time_machine.travel(start + timedelta(minutes=1, seconds=1), tick=False):
        assert incidents_escalate_unacknowledged() == 1
        (row,) = section(home(client, compliance_officer), "open-incidents").context["incidents"]
        assert row.late


@pytest.mark.parametrize(
    "today, latest",
    [
        (date(2024, 2, 29), date(2124, 2, 29)),
        # 2100 is no leap year: the last day of its February.
        (date(2000, 2, 29), date(2100, 2, 28)),
        (date(2025, 1, 31), date(2125, 1, 31)),
    ],
)
def test_the_latest_date_ahead_is_a_hundred_calendar_years_later(today, latest):
    assert latest_future_date(today) == latest
