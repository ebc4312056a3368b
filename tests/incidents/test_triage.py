import pytest
from django.urls import reverse

from incidents.models import EntryKind, Incident, Status
from incidents.services.reports import incident_acknowledge
from incidents.services.triage import incident_triage
from portal.errors import ApplicationError
from portal.models import AuditEvent, Notification
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_compliance_acknowledges_through_the_api_and_the_reporter_is_told(
    api_client, report, responders, django_capture_on_commit_callbacks
):
    incident = report()
    api_client.force_authenticate(responders[0])

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/incidents/{incident.pk}/acknowledge/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assignee"]) == ("acknowledged", "comp")
    assert Notification.objects.filter(
        kind="incident_acknowledged", recipient=incident.reporter
    ).exists()
    assert AuditEvent.objects.filter(action="incident.acknowledge", actor=responders[0]).exists()


def test_the_reporter_may_not_triage_his_report_and_an_outsider_gets_404(
    api_client, client, report, carl, alice
):
    incident = report()
    api_client.force_authenticate(carl)
    client.force_login(carl)

    assert api_client.post(f"/api/incidents/{incident.pk}/acknowledge/").status_code == 403
    assert (
        api_client.patch(
            f"/api/incidents/{incident.pk}/", {"severity": "low"}, format="json"
        ).status_code
        == 403
    )
    assert client.post(reverse("incidents:acknowledge", args=[incident.pk])).status_code == 403
    api_client.force_authenticate(alice)
    assert api_client.post(f"/api/incidents/{incident.pk}/acknowledge/").status_code == 404
    assert (
        api_client.post(
            f"/api/incidents/{incident.pk}/notes/", {"text": "hi"}, format="json"
        ).status_code
        == 404
    )
    incident.refresh_from_db()
    assert (incident.status, incident.severity) == (Status.REPORTED, "")


def test_legal_triages_severity_breach_and_assignee_in_one_patch_all_audited(
    api_client, report, responders
):
    comp, _, legal = responders
    incident = report()
    incident_acknowledge(actor=legal, incident=incident)
    api_client.force_authenticate(legal)

    response = api_client.patch(
        f"/api/incidents/{incident.pk}/",
        {
            "severity": "critical",
            "status": "investigating",
            "personal_data_breach": True,
            "breach_reason": "Phone numbers were readable by every employee.",
            "assignee": "comp",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["severity"], body["status"], body["personal_data_breach"], body["assignee"]) == (
        "critical",
        "investigating",
        True,
        "comp",
    )
    event = AuditEvent.objects.get(action="incident.triage")
    assert event.actor == legal
    assert set(event.detail) == {"severity", "status", "personal_data_breach", "assignee"}
    assert incident.duties.get().duty.regime.key == "gdpr-art-33"
    assert Notification.objects.filter(kind="incident_assigned", recipient=comp).exists()


def test_breach_decision_needs_a_reason(api_client, report, responders):
    incident = report()
    api_client.force_authenticate(responders[0])

    response = api_client.patch(
        f"/api/incidents/{incident.pk}/", {"personal_data_breach": True}, format="json"
    )

    assert response.status_code == 400 and "breach_reason" in response.json()
    incident.refresh_from_db()
    assert incident.personal_data_breach is None and not incident.duties.exists()


def test_ruling_out_a_breach_rules_out_its_clock(report, responders):
    incident = report()
    comp = responders[0]
    incident_triage(
        actor=comp, incident=incident, personal_data_breach=True, breach_reason="Looks like one."
    )
    incident_triage(
        actor=comp,
        incident=incident,
        personal_data_breach=False,
        breach_reason="The file held only test data, no real customers.",
    )
    duty = incident.duties.get()
    assert duty.state == "waived"
    # The waiver is in the duty's row history, with who and why.
    latest = duty.history.order_by("-history_date", "-history_id").first()
    assert (latest.state, latest.history_user) == ("waived", comp)
    assert "not a personal-data breach" in latest.history_change_reason.lower()

    # A breach after all: the waived duty opens again, again with a history row.
    incident_triage(
        actor=responders[2],
        incident=incident,
        personal_data_breach=True,
        breach_reason="Real customers were in the file after all.",
    )
    latest = duty.history.order_by("-history_date", "-history_id").first()
    assert (latest.state, latest.history_user) == ("open", responders[2])
    assert latest.history_change_reason


@pytest.mark.parametrize(
    "path, status, note, message",
    [
        (["acknowledged"], "reported", "", "cannot become new"),
        ([], "investigating", "", "Acknowledge the report first"),
        ([], "closed", "", "Acknowledge the report first"),
        (["acknowledged", "contained"], "investigating", "", "needs a note"),
    ],
)
def test_status_moves_that_are_not_allowed_change_nothing(
    api_client, report, responders, path, status, note, message
):
    incident = report()
    for step in path:
        incident_triage(actor=responders[0], incident=incident, status=step)
    before = Incident.objects.get(pk=incident.pk).status
    api_client.force_authenticate(responders[0])

    response = api_client.patch(
        f"/api/incidents/{incident.pk}/", {"status": status, "note": note}, format="json"
    )

    assert response.status_code == 400
    assert message in str(response.json())
    assert Incident.objects.get(pk=incident.pk).status == before


def test_moving_back_with_a_note_is_allowed_and_on_the_timeline(report, responders):
    incident = report()
    comp = responders[0]
    for step in ("acknowledged", "contained"):
        incident_triage(actor=comp, incident=incident, status=step)

    incident_triage(
        actor=comp,
        incident=incident,
        status="investigating",
        note="A second copy of the list turned up on another share.",
    )

    last = incident.timeline.order_by("-id").first()
    assert last.kind == EntryKind.STATUS
    assert "contained → investigating" in last.text and "second copy" in last.text


def test_closing_needs_the_open_duties_done_or_ruled_out(report, responders):
    incident = report()
    comp = responders[0]
    incident_triage(
        actor=comp,
        incident=incident,
        status="acknowledged",
        personal_data_breach=True,
        breach_reason="Customer e-mails were sent to a partner.",
    )
    with pytest.raises(ApplicationError, match="open notification duties"):
        incident_triage(actor=comp, incident=incident, status="closed")


def test_notes_on_a_closed_incident_are_refused(api_client, report, responders):
    incident = report()
    for step in ("acknowledged", "closed"):
        incident_triage(actor=responders[0], incident=incident, status=step)
    api_client.force_authenticate(responders[1])
    notes = incident.timeline.count()

    response = api_client.post(
        f"/api/incidents/{incident.pk}/notes/", {"text": "Late thought."}, format="json"
    )

    assert response.status_code == 400 and "closed" in response.json()["detail"]
    assert incident.timeline.count() == notes


def test_note_through_the_api_and_the_page_lands_on_the_timeline(
    api_client, client, report, responders
):
    incident = report()
    api_client.force_authenticate(responders[0])
    client.force_login(responders[2])

    api = api_client.post(
        f"/api/incidents/{incident.pk}/notes/", {"text": "Called the reporter."}, format="json"
    )
    page = client.post(reverse("incidents:note", args=[incident.pk]), {"text": "IT informed."})

    assert (api.status_code, page.status_code) == (200, 302)
    notes = incident.timeline.filter(kind=EntryKind.NOTE).values_list("actor__username", "text")
    assert list(notes) == [("comp", "Called the reporter."), ("legal", "IT informed.")]
    assert AuditEvent.objects.filter(action="incident.note").count() == 2


def test_assignee_must_be_compliance_or_legal(api_client, report, responders, alice):
    incident = report()
    api_client.force_authenticate(responders[0])

    response = api_client.patch(
        f"/api/incidents/{incident.pk}/", {"assignee": "alice"}, format="json"
    )

    assert response.status_code == 400 and "assignee" in response.json()
    with pytest.raises(ApplicationError, match="member of Compliance or Legal"):
        incident_triage(actor=responders[0], incident=incident, assignee=alice)


def test_triage_page_saves_and_shows_the_change(client, report, responders):
    incident = report()
    incident_acknowledge(actor=responders[0], incident=incident)
    client.force_login(responders[0])

    response = client.post(
        reverse("incidents:triage", args=[incident.pk]),
        {"status": "investigating", "severity": "high", "assignee": responders[2].pk},
        follow=True,
    )

    incident.refresh_from_db()
    assert response.status_code == 200
    assert (incident.status, incident.severity, incident.assignee) == (
        "investigating",
        "high",
        responders[2],
    )
    assert "Status acknowledged → investigating." in response.content.decode()


def test_bad_triage_in_the_page_is_a_400_with_the_message(client, report, responders):
    incident = report()
    client.force_login(responders[0])

    response = client.post(reverse("incidents:triage", args=[incident.pk]), {"status": "closed"})

    assert response.status_code == 400
    assert "Acknowledge the report first" in response.content.decode()


def test_list_filters_by_status_severity_and_breach(api_client, report, responders):
    comp = responders[0]
    quiet = report(title="Quiet")
    loud = report(title="Loud")
    incident_triage(
        actor=comp,
        incident=loud,
        status="acknowledged",
        severity="high",
        personal_data_breach=True,
        breach_reason="Customer data reached a third party.",
    )
    api_client.force_authenticate(comp)

    def ids(**params):
        return [row["id"] for row in api_client.get("/api/incidents/", params).json()["results"]]

    assert ids(status="reported") == [quiet.pk]
    assert ids(severity="high") == [loud.pk]
    assert ids(breach="yes") == [loud.pk]
    assert ids(breach="unknown") == [quiet.pk]
    assert api_client.get("/api/incidents/", {"status": "lost"}).status_code == 400


@pytest.mark.parametrize("size", [3, 12])
def test_incident_list_queries_do_not_grow_with_rows(
    client, api_client, report, responders, asset, django_assert_max_num_queries, size
):
    for n in range(size):
        reporter = UserFactory(username=f"reporter{n}")
        report(reporter=reporter, title=f"Report {n}", assets=[asset])
    client.force_login(responders[0])
    api_client.force_authenticate(responders[0])

    with django_assert_max_num_queries(12):
        page = client.get(reverse("incidents:list"))
    with django_assert_max_num_queries(10):
        api = api_client.get("/api/incidents/")
    with django_assert_max_num_queries(12):
        mine = client.get(reverse("incidents:mine"))

    assert len(page.context["page"].object_list) == size
    assert api.json()["count"] == size
    assert mine.status_code == 200


def test_an_incident_list_row_shows_assets_people_labels_and_its_link(
    client, report, responders, asset, deliver
):
    other = DataAssetFactory(owner=asset.owner, name="Alpha leads")
    incident = report(assets=[asset, other], title="Leads & <customers> e-mailed")
    deliver(incident_acknowledge, actor=responders[0], incident=incident)
    incident_triage(actor=responders[0], incident=incident, severity="high")
    client.force_login(responders[2])

    page = client.get(reverse("incidents:list")).content.decode()

    row = page[page.index(f'<a href="/incidents/{incident.pk}/">{incident.reference}</a>') :]
    row = row[: row.index("</tr>")]
    assert "Leads &amp; &lt;customers&gt; e-mailed" in row
    assert '<div class="small text-muted">Alpha leads, Test customers</div>' in row
    assert "<td>Carl Christensen</td>" in row
    assert '<span class="badge text-bg-primary">Acknowledged</span>' in row
    assert "<td>High</td>" in row and "<td>not decided</td>" in row
    assert f"<td>{responders[0].get_full_name() or responders[0].username}</td>" in row
