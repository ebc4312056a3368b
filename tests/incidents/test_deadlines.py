"""Escalation, the GDPR Art. 33 clock, NIS2 and DORA duties: timed with time-machine."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from incidents import tasks
from incidents.models import DutyState, IncidentDuty, Notice, Regime
from incidents.services.deadlines import (
    incident_awareness_set,
    incident_duty_record,
    incident_no_risk_confirm,
    incident_no_risk_propose,
    incident_regime_apply,
)
from incidents.services.escalation import (
    incident_duties_flag_overdue,
    incident_duties_remind,
    incidents_escalate_unacknowledged,
)
from incidents.services.reports import incident_acknowledge
from incidents.services.triage import incident_triage
from portal.errors import ApplicationError, NotAllowed
from portal.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def sent(kind: str) -> int:
    return Notification.objects.filter(kind=kind).count()


# --- Escalation ------------------------------------------------------------------------


def test_escalation_at_60_and_120_minutes_while_unacknowledged_and_never_twice(
    report, frozen, responders, deliver
):
    incident = report()
    start = incident.reported_at

    frozen.move_to(start + timedelta(minutes=59, seconds=59))
    assert deliver(incidents_escalate_unacknowledged) == 0

    frozen.move_to(start + timedelta(minutes=60))
    assert deliver(incidents_escalate_unacknowledged) == 1
    assert deliver(incidents_escalate_unacknowledged) == 0  # the beat job runs again
    assert sent("incident_escalated") == 3  # each of the two groups' three members, once

    frozen.move_to(start + timedelta(minutes=119))
    assert deliver(incidents_escalate_unacknowledged) == 0
    frozen.move_to(start + timedelta(minutes=120))
    assert deliver(incidents_escalate_unacknowledged) == 1
    assert deliver(incidents_escalate_unacknowledged) == 0
    assert sent("incident_escalated") == 6
    subjects = set(
        Notification.objects.filter(kind="incident_escalated").values_list("subject", flat=True)
    )
    assert subjects == {
        f"Escalation 1: {incident.reference} is not acknowledged",
        f"Escalation 2: {incident.reference} is not acknowledged",
    }

    deliver(incident_acknowledge, actor=responders[0], incident=incident)
    frozen.move_to(start + timedelta(minutes=180))
    assert deliver(incidents_escalate_unacknowledged) == 0
    assert sent("incident_escalated") == 6


def test_escalation_task_runs_as_the_system_on_the_task_channel(report, frozen):
    incident = report()
    frozen.move_to(incident.reported_at + timedelta(minutes=60))

    assert tasks.escalate_unacknowledged.delay().get() == 1

    event = AuditEvent.objects.get(action="incident.escalate")
    assert (event.actor, event.channel, event.detail) == (None, "task", {"level": 1})


def test_escalation_follows_the_sla_setting(report, frozen, settings):
    settings.INCIDENT_ACK_SLA = 15
    incident = report()

    frozen.move_to(incident.reported_at + timedelta(minutes=15))

    assert incidents_escalate_unacknowledged() == 1


def test_a_job_that_was_down_sends_only_the_current_escalation(report, frozen):
    incident = report()

    frozen.move_to(incident.reported_at + timedelta(minutes=200))

    assert incidents_escalate_unacknowledged() == 1
    assert list(Notice.objects.values_list("key", flat=True)) == ["escalation:3"]


# --- GDPR Art. 33 ---------------------------------------------------------------------

# Awareness on Saturday 29 March 2025, 10:00 in Oslo (CET, UTC+1). Summer time starts on
# Sunday 30 March at 02:00 local (01:00 UTC): the 72 hours end on Tuesday 1 April at 11:00
# CEST, 09:00 UTC; the wall clock moved one hour, the deadline did not.
AWARE = datetime(2025, 3, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def breach(report, responders, deliver):
    with time_machine.travel(AWARE + timedelta(minutes=30), tick=False):
        incident = report(discovered_at=AWARE)
        deliver(incident_acknowledge, actor=responders[0], incident=incident)
        deliver(
            incident_triage,
            actor=responders[0],
            incident=incident,
            personal_data_breach=True,
            breach_reason="Names and phone numbers reached an outside recipient.",
        )
    return incident


def gdpr_duty(incident) -> IncidentDuty:
    return incident.duties.get(duty__regime__key="gdpr-art-33")


def test_breach_clock_due_at_72_real_hours_across_the_oslo_dst_change(client, breach, responders):
    duty = gdpr_duty(breach)
    assert duty.due_at == AWARE + 72 * HOUR == datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

    comp = responders[0]
    comp.time_zone = "Europe/Oslo"
    comp.save()
    client.force_login(comp)
    with time_machine.travel(AWARE + 30 * HOUR, tick=False):
        page = client.get(reverse("incidents:detail", args=[breach.pk])).content.decode()
    assert "29 Mar 2025 10:00 CET" in page  # awareness, before the change
    assert "1 Apr 2025 11:00 CEST" in page  # due, after it
    assert "42.0 hours left" in page


def test_breach_reminders_at_exactly_24_48_66_hours_then_overdue_at_72(breach, deliver):
    reminders = []
    for hours in (24, 48, 66):
        with time_machine.travel(AWARE + hours * HOUR - timedelta(seconds=1), tick=False):
            assert deliver(incident_duties_remind) == 0, hours
        with time_machine.travel(AWARE + hours * HOUR, tick=False):
            assert deliver(incident_duties_remind) == 1, hours
            assert deliver(incident_duties_remind) == 0, hours
        reminders.append(sent("incident_deadline_reminder"))
    assert reminders == [3, 6, 9]  # three recipients each time

    with time_machine.travel(AWARE + 72 * HOUR - timedelta(seconds=1), tick=False):
        assert deliver(incident_duties_flag_overdue) == 0
        assert deliver(incident_duties_remind) == 0
    with time_machine.travel(AWARE + 72 * HOUR, tick=False):
        assert deliver(incident_duties_flag_overdue) == 1
        assert deliver(incident_duties_flag_overdue) == 0
    assert sent("incident_deadline_overdue") == 3


def test_reminder_in_the_recipients_zone_reads_the_local_due_time(breach, responders, deliver):
    oslo, _, utc = responders
    oslo.time_zone = "Europe/Oslo"
    oslo.save()
    utc.time_zone = "UTC"
    utc.save()

    with time_machine.travel(AWARE + 24 * HOUR, tick=False):
        deliver(incident_duties_remind)

    mine = Notification.objects.get(kind="incident_deadline_reminder", recipient=oslo)
    theirs = Notification.objects.get(kind="incident_deadline_reminder", recipient=utc)
    assert "1 Apr 2025 11:00 CEST" in mine.body
    assert "1 Apr 2025 09:00 UTC" in theirs.body


def test_recording_the_authority_notification_stops_the_clock(breach, responders, deliver):
    with time_machine.travel(AWARE + 30 * HOUR, tick=False):
        incident_duty_record(actor=responders[2], duty=gdpr_duty(breach), reference="DPA-2025-118")
    for hours in (48, 66, 72, 100):
        with time_machine.travel(AWARE + hours * HOUR, tick=False):
            assert deliver(incident_duties_remind) == 0
            assert deliver(incident_duties_flag_overdue) == 0
    duty = gdpr_duty(breach)
    assert (duty.state, duty.reference, duty.completed_by) == (
        "done",
        "DPA-2025-118",
        responders[2],
    )


def test_late_authority_notification_requires_the_reasons_for_the_delay(breach, responders):
    with time_machine.travel(AWARE + 75 * HOUR, tick=False):
        with pytest.raises(ApplicationError, match="3.0 hours late") as error:
            incident_duty_record(actor=responders[0], duty=gdpr_duty(breach), reference="DPA-1")
        assert error.value.field == "delay_reason"
        assert gdpr_duty(breach).state == DutyState.OPEN

        incident_duty_record(
            actor=responders[0],
            duty=gdpr_duty(breach),
            reference="DPA-1",
            delay_reason="The processor only confirmed the scope on day three.",
        )
    assert gdpr_duty(breach).delay_reason.startswith("The processor")


def test_late_recording_without_reason_in_the_page_is_a_400_and_changes_nothing(
    client, breach, responders
):
    client.force_login(responders[0])
    duty = gdpr_duty(breach)
    with time_machine.travel(AWARE + 80 * HOUR, tick=False):
        response = client.post(
            reverse("incidents:duty_record", args=[breach.pk, duty.pk]),
            {f"duty{duty.pk}-reference": "DPA-9", f"duty{duty.pk}-completed_at": ""},
        )
        page = client.get(reverse("incidents:detail", args=[breach.pk])).content.decode()
    assert response.status_code == 400
    assert "reasons for the delay" in response.content.decode()
    assert gdpr_duty(breach).state == DutyState.OPEN
    assert "OVERDUE by 8.0 hours" in page


def test_later_awareness_with_a_reason_moves_the_clock(breach, responders):
    with time_machine.travel(AWARE + 10 * HOUR, tick=False):
        with pytest.raises(
            ApplicationError, match="Give the reason awareness came later than discovery"
        ):
            incident_awareness_set(
                actor=responders[0], incident=breach, aware_at=AWARE + 6 * HOUR, reason=""
            )
        incident_awareness_set(
            actor=responders[0],
            incident=breach,
            aware_at=AWARE + 6 * HOUR,
            reason="Until the log review we only suspected a mistyped address.",
        )
    assert gdpr_duty(breach).due_at == AWARE + 78 * HOUR


# --- Not notifying needs two people ------------------------------------------------------


def test_decision_not_to_notify_needs_a_second_member_and_not_the_proposer(
    client, breach, responders, deliver
):
    comp, comp2, legal = responders
    deliver(
        incident_no_risk_propose,
        actor=comp,
        incident=breach,
        reason="The file was encrypted and the key never left us.",
    )
    assert gdpr_duty(breach).state == DutyState.OPEN  # the clock keeps running
    assert sent("incident_no_risk_proposed") == 2  # the other two members

    with pytest.raises(NotAllowed, match="a second member of Compliance or Legal"):
        incident_no_risk_confirm(actor=comp, incident=breach)
    client.force_login(comp)
    assert client.post(reverse("incidents:no_risk_confirm", args=[breach.pk])).status_code == 403
    assert gdpr_duty(breach).state == DutyState.OPEN

    client.force_login(legal)
    response = client.post(reverse("incidents:no_risk_confirm", args=[breach.pk]))

    assert response.status_code == 302
    breach.refresh_from_db()
    assert breach.no_risk_confirmed_by == legal
    assert gdpr_duty(breach).state == DutyState.WAIVED
    with time_machine.travel(AWARE + 48 * HOUR, tick=False):
        assert deliver(incident_duties_remind) == 0
    assert AuditEvent.objects.filter(action="incident.no_risk_confirm", actor=legal).exists()


def test_proposal_needs_a_reason(breach, responders):
    with pytest.raises(ApplicationError, match="unlikely to result in a risk"):
        incident_no_risk_propose(actor=responders[0], incident=breach, reason="no")
    breach.refresh_from_db()
    assert breach.no_risk_proposed_at is None


def test_art_34_decision_is_recorded_with_its_reason(client, breach, responders):
    client.force_login(responders[1])

    response = client.post(
        reverse("incidents:customer_notice", args=[breach.pk]),
        {"decision": "required", "reason": "Phone numbers enable targeted phishing."},
    )

    breach.refresh_from_db()
    assert response.status_code == 302
    assert (breach.customer_notice, breach.customer_notice_decided_by) == (
        "required",
        responders[1],
    )


# --- NIS2 and DORA ---------------------------------------------------------------------


@pytest.fixture
def nis2_incident(report, responders, deliver):
    with time_machine.travel(AWARE + HOUR, tick=False):
        incident = report(discovered_at=AWARE)
        deliver(incident_acknowledge, actor=responders[0], incident=incident)
        deliver(
            incident_regime_apply,
            actor=responders[0],
            incident=incident,
            regime=Regime.objects.get(key="nis2-art-23"),
        )
    return incident


def nis2(incident, key) -> IncidentDuty:
    return incident.duties.get(duty__regime__key="nis2-art-23", duty__key=key)


def test_nis2_duties_at_24h_72h_and_one_month_after_the_notification(nis2_incident, responders):
    assert nis2(nis2_incident, "early-warning").due_at == AWARE + 24 * HOUR
    assert nis2(nis2_incident, "incident-notification").due_at == AWARE + 72 * HOUR
    # Until the notification is made, the final report counts from its due time.
    assert nis2(nis2_incident, "final-report").due_at == datetime(2025, 5, 1, 9, 0, tzinfo=UTC)

    made = AWARE + 50 * HOUR  # 31 March 2025, 11:00 UTC
    with time_machine.travel(made, tick=False):
        incident_duty_record(
            actor=responders[0], duty=nis2(nis2_incident, "incident-notification"), reference="N-1"
        )
    assert nis2(nis2_incident, "final-report").due_at == datetime(2025, 4, 30, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "key, reminders",
    [
        ("early-warning", (12, 4)),
        ("incident-notification", (48, 24, 6)),
        ("final-report", (168, 24)),
    ],
)
def test_each_nis2_duty_sends_its_reminders_once(nis2_incident, deliver, key, reminders):
    duty = nis2(nis2_incident, key)
    for hours in reminders:
        moment = duty.due_at - hours * HOUR
        with time_machine.travel(moment - timedelta(seconds=1), tick=False):
            before = Notice.objects.filter(key=f"reminder:{duty.pk}:{hours}").exists()
        with time_machine.travel(moment, tick=False):
            deliver(incident_duties_remind)
            deliver(incident_duties_remind)
        assert not before
        assert Notice.objects.filter(key=f"reminder:{duty.pk}:{hours}").count() == 1
    subjects = Notification.objects.filter(subject__contains=duty.duty.name).values_list(
        "subject", flat=True
    )
    assert {s.split(" due in ")[1] for s in subjects if s.startswith("Reminder")} == {
        f"{h} hours" for h in reminders
    }


OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    ("made", "due"),
    [
        # 31 Jan 00:30 in Oslo is still 30 Jan on the UTC date: the month is Oslo's.
        (datetime(2025, 1, 31, 0, 30), datetime(2025, 2, 28, 0, 30)),
        # Across the start of summer time (CET -> CEST): the same wall-clock time.
        (datetime(2025, 3, 15, 12, 0), datetime(2025, 4, 15, 12, 0)),
        # Across its end (CEST -> CET), late in the evening: the next day in UTC terms.
        (datetime(2025, 10, 20, 23, 30), datetime(2025, 11, 20, 23, 30)),
    ],
)
def test_nis2_final_report_is_one_calendar_month_after_the_notification_in_the_sites_zone(
    report, responders, deliver, settings, made, due
):
    assert settings.TIME_ZONE == "Europe/Oslo"
    made, due = made.replace(tzinfo=OSLO), due.replace(tzinfo=OSLO)
    with time_machine.travel(made - 10 * HOUR, tick=False):
        incident = report(discovered_at=made - 12 * HOUR)
        deliver(
            incident_regime_apply,
            actor=responders[0],
            incident=incident,
            regime=Regime.objects.get(key="nis2-art-23"),
        )
    with time_machine.travel(made, tick=False):
        incident_duty_record(
            actor=responders[0], duty=nis2(incident, "incident-notification"), reference="N-1"
        )

    final = nis2(incident, "final-report").due_at
    assert final == due
    assert final.astimezone(OSLO).replace(tzinfo=None) == due.replace(tzinfo=None)


def test_dora_initial_notification_is_4h_after_classification_but_at_most_24h_after_awareness(
    report, responders
):
    dora = Regime.objects.get(key="dora-art-19")
    with time_machine.travel(AWARE + 30 * HOUR, tick=False):
        early = report(discovered_at=AWARE)
        late = report(discovered_at=AWARE)
        incident_regime_apply(
            actor=responders[0], incident=early, regime=dora, applied_at=AWARE + 2 * HOUR
        )
        incident_regime_apply(
            actor=responders[0], incident=late, regime=dora, applied_at=AWARE + 22 * HOUR
        )

    def due(incident, key):
        return incident.duties.get(duty__key=key).due_at

    assert due(early, "initial-notification") == AWARE + 6 * HOUR
    assert due(late, "initial-notification") == AWARE + 24 * HOUR
    assert due(early, "intermediate-report") == AWARE + 78 * HOUR
    assert due(early, "final-report") == AWARE + 78 * HOUR + timedelta(days=30)  # April


def test_regime_chosen_in_the_page_by_compliance_or_legal_only(client, report, carl, responders):
    incident = report()
    dora = Regime.objects.get(key="dora-art-19")
    client.force_login(carl)
    forbidden = client.post(
        reverse("incidents:regime_apply", args=[incident.pk]), {"regime": dora.pk}
    )
    client.force_login(responders[2])
    allowed = client.post(
        reverse("incidents:regime_apply", args=[incident.pk]), {"regime": dora.pk}
    )

    assert forbidden.status_code == 403
    assert allowed.status_code == 302
    assert incident.duties.count() == 3


def test_overdue_incidents_are_listed_in_red_and_filtered(client, breach, report, responders):
    other = report(title="Not a breach")
    client.force_login(responders[0])
    with time_machine.travel(AWARE + 80 * HOUR, tick=False):
        overdue = client.get(reverse("incidents:list"), {"overdue": "yes"})
        on_time = client.get(reverse("incidents:list"), {"overdue": "no"})
    assert [i.pk for i in overdue.context["page"].object_list] == [breach.pk]
    assert [i.pk for i in on_time.context["page"].object_list] == [other.pk]
    assert 'class="table-danger"' in overdue.content.decode()


def test_a_time_given_with_an_offset_is_written_with_its_zone_on_the_timeline(breach, responders):
    """The timeline names the zone: a time typed in New York's zone is converted to the
    zone the entry is written in (the site's here: no request), not relabelled."""
    new_york = ZoneInfo("America/New_York")
    aware_at = (AWARE + 6 * HOUR).astimezone(new_york)
    with time_machine.travel(AWARE + 10 * HOUR, tick=False):
        incident_awareness_set(
            actor=responders[0],
            incident=breach,
            aware_at=aware_at,
            reason="Until the log review we only suspected a mistyped address.",
        )
    # 29 March 2025 15:00 UTC is 16:00 in Oslo (CET, before summer time the next night).
    expected = "Awareness set to 29 Mar 2025 16:00 CET"
    assert breach.timeline.filter(text__startswith=expected).exists()
