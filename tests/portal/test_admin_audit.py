"""Every change the admin still allows is an audit event: one test per admin model.

The superuser posts the admin's own forms (read from its page, as a browser would send them)
and the audit trail then holds ``admin.add``, ``admin.change`` or ``admin.delete`` naming the
administrator, the object and the fields changed (never their values).
"""

from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from consent.models import DataCategory, Purpose
from incidents.models import Regime
from portal import roles
from portal.admin import AuditedAdmin
from portal.audit import token_fingerprint
from portal.models import AuditEvent, User
from tests.factories import UserFactory


class _FormReader(HTMLParser):
    """The fields of the page's main form with the values a browser would submit."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select = None
        self._textarea = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "").lower() == "post":
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.data.setdefault(name, []).append(attrs.get("value", default))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            # A browser drops the newline right after <textarea>.
            text = self.data[self._textarea][0]
            self.data[self._textarea][0] = text + (data if text else data.lstrip("\n"))


def form_data(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, path
    reader = _FormReader()
    reader.feed(response.content.decode())
    return {name: values if len(values) != 1 else values[0] for name, values in reader.data.items()}


@pytest.fixture
def root(db, client):
    administrator = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(administrator)
    return administrator


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def assert_audited(action, *, actor, target, fields=None):
    event = last_event(action)
    assert event is not None, f"no {action} event"
    assert event.actor == actor and event.channel == "web"
    assert (event.target_type, event.target_id) == (
        f"{target._meta.app_label}.{target._meta.model_name}",
        str(target.pk),
    )
    if fields is not None:
        assert event.detail["fields"] == fields
    return event


def test_every_admin_model_is_audited():
    plain = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdmin)
    ]
    assert plain == []


# --- Accounts ---------------------------------------------------------------------------------


def test_adding_a_user_in_the_admin_is_audited(client, root):
    response = client.post(
        "/admin/portal/user/add/",
        {
            "username": "newcomer",
            "password1": "a long enough pass phrase",
            "password2": "a long enough pass phrase",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    event = assert_audited("admin.add", actor=root, target=newcomer)
    assert "a long enough" not in str(event.detail)


def test_changing_a_user_in_the_admin_is_audited_with_the_fields_not_the_values(
    client, root, requester
):
    path = f"/admin/portal/user/{requester.pk}/change/"
    data = form_data(client, path)
    data["first_name"] = "Renamed"
    assert client.post(path, data).status_code == 302
    requester.refresh_from_db()
    assert requester.first_name == "Renamed"
    event = assert_audited("admin.change", actor=root, target=requester, fields=["first_name"])
    assert "Renamed" not in str(event.detail)


def test_a_password_set_in_the_admin_is_audited_without_the_password(client, root, requester):
    response = client.post(
        f"/admin/portal/user/{requester.pk}/password/",
        {"password1": "another long pass phrase", "password2": "another long pass phrase"},
    )
    assert response.status_code == 302
    event = assert_audited("admin.change", actor=root, target=requester)
    assert "another long" not in str(event.detail)


def test_users_are_not_deleted_in_the_admin_they_are_deactivated(client, root, requester):
    response = client.post(f"/admin/portal/user/{requester.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=requester.pk).exists()


def test_an_administrator_cannot_give_themselves_a_role_in_the_admin(client, root):
    path = f"/admin/portal/user/{root.pk}/change/"
    data = form_data(client, path)
    data["groups"] = [str(Group.objects.get(name=roles.COMPLIANCE).pk)]
    data["first_name"] = "Root"
    assert client.post(path, data).status_code == 302
    root.refresh_from_db()
    assert root.first_name == "Root"
    assert not root.groups.exists()


# --- Groups -----------------------------------------------------------------------------------


def test_adding_changing_and_deleting_a_group_in_the_admin_is_audited(client, root):
    assert client.post("/admin/auth/group/add/", {"name": "Operators"}).status_code == 302
    group = Group.objects.get(name="Operators")
    assert_audited("admin.add", actor=root, target=group)

    path = f"/admin/auth/group/{group.pk}/change/"
    data = form_data(client, path)
    data["name"] = "Night operators"
    assert client.post(path, data).status_code == 302
    group.refresh_from_db()
    assert_audited("admin.change", actor=root, target=group, fields=["name"])

    response = client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()
    event = last_event("admin.delete")
    assert (event.actor, event.target_id, event.target_label) == (
        root,
        str(group.pk),
        "Night operators",
    )


def test_compliance_and_legal_keep_their_names_and_are_never_deleted(client, root):
    compliance = Group.objects.get(name=roles.COMPLIANCE)
    path = f"/admin/auth/group/{compliance.pk}/change/"
    data = form_data(client, path)
    data["name"] = "Anyone"
    client.post(path, data)
    compliance.refresh_from_db()
    assert compliance.name == roles.COMPLIANCE
    response = client.post(f"/admin/auth/group/{compliance.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Group.objects.filter(name=roles.COMPLIANCE).exists()


# --- Tokens and devices -----------------------------------------------------------------------


def test_revoking_an_api_token_in_the_admin_is_audited_with_its_fingerprint(
    client, root, requester
):
    token = Token.objects.create(user=requester)
    listing = client.get("/admin/authtoken/tokenproxy/").content.decode()
    assert token.key not in listing
    assert token_fingerprint(token.key) in listing
    assert (
        token.key
        not in client.get(f"/admin/authtoken/tokenproxy/{requester.pk}/change/").content.decode()
    )

    response = client.post(f"/admin/authtoken/tokenproxy/{requester.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=requester).exists()
    event = assert_audited("admin.delete", actor=root, target=requester)
    assert event.detail["token"] == token_fingerprint(token.key)
    assert token.key not in str(event.detail) + event.target_label


def test_no_api_token_is_issued_in_the_admin(client, root, requester):
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": requester.pk})
    assert response.status_code == 403
    assert not Token.objects.filter(user=requester).exists()


def test_changing_and_deleting_a_two_factor_device_in_the_admin_is_audited(client, root, requester):
    device = TOTPDevice.objects.create(user=requester, name="phone", confirmed=True)
    path = f"/admin/otp_totp/totpdevice/{device.pk}/change/"
    data = form_data(client, path)
    data["name"] = "old phone"
    data["throttling_failure_count"] = "0"
    assert client.post(path, data).status_code == 302
    device.refresh_from_db()
    assert device.name == "old phone"
    assert_audited("admin.change", actor=root, target=device, fields=["name"])

    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert last_event("admin.delete").target_id == str(device.pk)


def test_no_two_factor_device_is_added_or_reconfigured_in_the_admin(client, root, requester):
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    device = TOTPDevice.objects.create(user=requester, name="phone", confirmed=True)
    path = f"/admin/otp_totp/totpdevice/{device.pk}/change/"
    data = form_data(client, path)
    data.update({"name": "renamed", "user": str(root.pk), "tolerance": "50", "confirmed": ""})
    assert client.post(path, data).status_code == 302  # accepted: the name did change
    device.refresh_from_db()
    assert device.name == "renamed"
    assert (device.user, device.tolerance, device.confirmed) == (requester, 1, True)


def test_lifting_a_lockout_in_the_admin_is_audited(client, root):
    attempts = [
        AccessAttempt.objects.create(
            username=name,
            ip_address="10.0.0.9",
            user_agent="test",
            path_info="/accounts/login/",
            attempt_time=timezone.now(),
            failures_since_start=5,
        )
        for name in ("rita", "otto")
    ]
    response = client.post(f"/admin/axes/accessattempt/{attempts[0].pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert last_event("admin.delete").target_id == str(attempts[0].pk)
    # The list's bulk deletion too.
    response = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempts[1].pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert last_event("admin.delete").target_id == str(attempts[1].pk)


# --- Taxonomy text and regimes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path", "text_field", "guarded"),
    [
        (Purpose, "consent/purpose", "name", {"lawful_basis": "legitimate_interest"}),
        (DataCategory, "consent/datacategory", "description", {"active": ""}),
        (Regime, "incidents/regime", "name", {"applies_to_breaches": ""}),
    ],
)
def test_editing_taxonomy_text_in_the_admin_is_audited_and_nothing_else_changes(
    client, root, model, path, text_field, guarded
):
    obj = model.objects.order_by("pk").first()
    before = {name: getattr(obj, name) for name in guarded}
    url = f"/admin/{path}/{obj.pk}/change/"
    data = form_data(client, url)
    data[text_field] = "Edited by the operator"
    data.update(guarded)
    assert client.post(url, data).status_code == 302
    obj.refresh_from_db()
    assert getattr(obj, text_field) == "Edited by the operator"
    assert {name: getattr(obj, name) for name in guarded} == before
    assert_audited("admin.change", actor=root, target=obj, fields=[text_field])
    assert client.post(f"/admin/{path}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"/admin/{path}/add/").status_code == 403


def test_the_admins_own_password_change_is_the_portals_audited_page(client, root):
    response = client.get("/admin/password_change/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    client.post(
        "/admin/password_change/",
        {
            "old_password": "correct horse battery staple",
            "new_password1": "a brand new pass phrase",
            "new_password2": "a brand new pass phrase",
        },
    )
    root.refresh_from_db()
    assert root.check_password("correct horse battery staple")
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "correct horse battery staple",
            "new_password1": "a brand new pass phrase",
            "new_password2": "a brand new pass phrase",
        },
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_change", actor=root).exists()
