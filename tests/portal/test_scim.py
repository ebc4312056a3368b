"""SCIM provisioning at /scim/v2/: who gets in, filtering by userName, the mover, the
groups that are portal roles, and bad input (a SCIM error naming it, nothing changed)."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from portal import roles
from portal.identity.scim_tokens import scim_token_create, scim_token_revoke
from portal.models import AuditEvent, ScimToken, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def token(root):
    return scim_token_create(actor=root, name="directory")


@pytest.fixture
def scim(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token[1]}")


def test_only_a_valid_unrevoked_bearer_token_opens_scim(client, root, token, scim):
    assert client.get("/scim/v2/Users").status_code == 401
    client.force_login(root)  # an administrator's session is no SCIM client
    assert client.get("/scim/v2/Users").status_code == 401
    wrong = Client(HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.get("/scim/v2/Users").status_code == 401
    assert scim.get("/scim/v2/Users").status_code == 200
    scim_token_revoke(actor=root, token=token[0])
    response = scim.get("/scim/v2/Users")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_only_an_administrator_creates_a_token_and_only_its_hash_is_kept(root, capsys):
    with pytest.raises(Exception, match="administrator"):
        scim_token_create(actor=UserFactory(username="emp"), name="x")
    call_command("create_scim_token", "root", "Entra ID")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    stored = ScimToken.objects.get(name="Entra ID")
    assert raw not in stored.key_hash and len(raw) > 30
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/scim/v2/Groups").status_code == 200
    event = AuditEvent.objects.get(action="scim_token.create")
    assert raw not in json.dumps(event.detail)


def test_a_user_is_provisioned_and_found_by_user_name(scim):
    body = {
        "schemas": [USER],
        "userName": "Jane.Doe@corp.example",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@corp.example", "primary": True, "type": "work"}],
        "title": "Engineer",  # not kept by the portal: accepted and ignored
        "active": True,
        "externalId": "00u1",
    }
    response = scim.post("/scim/v2/Users", json.dumps(body), content_type=SCIM)
    assert response.status_code == 201, response.content
    user = User.objects.get(username="Jane.Doe@corp.example")
    assert (user.email, user.scim_external_id, user.has_usable_password()) == (
        "jane@corp.example",
        "00u1",
        False,
    )
    found = scim.get('/scim/v2/Users?filter=userName eq "jane.doe@corp.example"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == str(user.pk)
    none = scim.get('/scim/v2/Users?filter=userName eq "nobody"').json()
    assert none["totalResults"] == 0
    again = scim.post("/scim/v2/Users", json.dumps(body), content_type=SCIM)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"schemas": [USER], "active": True}), "userName"),
        (json.dumps({"schemas": [USER], "userName": "a b!", "active": True}), "userName"),
        (json.dumps([1, 2]), "JSON object"),
    ],
)
def test_bad_input_is_a_scim_error_naming_it_and_changes_nothing(scim, body, words):
    users = User.objects.count()
    response = scim.post("/scim/v2/Users", body, content_type=SCIM)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert User.objects.count() == users


def test_an_unsupported_filter_is_a_400_naming_it(scim):
    response = scim.get('/scim/v2/Users?filter=title eq "x"')
    assert response.status_code == 400 and "title" in response.json()["detail"]
    assert scim.get("/scim/v2/Users?filter=userName eq").status_code == 400


def test_role_groups_keep_their_names_and_their_members_are_audited(scim):
    compliance = Group.objects.get(name=roles.COMPLIANCE)
    person = UserFactory(username="newcomp")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": str(person.pk)}]}],
    }
    response = scim.patch(f"/scim/v2/Groups/{compliance.pk}", json.dumps(patch), content_type=SCIM)
    assert response.status_code == 200, response.content
    assert roles.is_compliance(User.objects.get(pk=person.pk))
    assert AuditEvent.objects.filter(action="group.member_add").exists()
    rename = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Friends"}],
    }
    response = scim.patch(f"/scim/v2/Groups/{compliance.pk}", json.dumps(rename), content_type=SCIM)
    assert response.status_code == 400
    assert scim.delete(f"/scim/v2/Groups/{compliance.pk}").status_code == 403
    assert Group.objects.filter(name=roles.COMPLIANCE).exists()


def test_a_deleted_user_is_deactivated_kept_and_gone_from_scim(scim):
    person = UserFactory(username="gone")
    assert scim.delete(f"/scim/v2/Users/{person.pk}").status_code == 204
    person.refresh_from_db()
    assert not person.is_active and person.scim_deleted_at is not None
    assert scim.get(f"/scim/v2/Users/{person.pk}").status_code == 404
    assert AuditEvent.objects.filter(action="account.deactivate", target_id=str(person.pk))


def test_listing_users_costs_the_same_queries_for_one_or_many(scim, django_assert_num_queries):
    UserFactory.create_batch(3)
    scim.get("/scim/v2/Users")  # the token's first use is recorded once
    with django_assert_num_queries(4):  # token, count, page, groups
        scim.get("/scim/v2/Users")
    UserFactory.create_batch(10)
    with django_assert_num_queries(4):
        scim.get("/scim/v2/Users")


@pytest.mark.parametrize("hostile", ["²", "٣", str(10**25), "-1", ""])
def test_an_id_no_row_can_have_is_a_scim_answer_never_a_server_error(scim, hostile):
    """Ids are read as portal.input_limits.as_id reads them (ASCII digits within a bigint):
    in the path, in a filter, as a group member and as a manager."""
    groups = Group.objects.count()
    assert scim.get(f"/scim/v2/Users/{hostile}").status_code in (404, 405)
    assert scim.get(f"/scim/v2/Groups/{hostile}").status_code in (404, 405)
    found = scim.get(f'/scim/v2/Users?filter=id eq "{hostile}"')
    assert found.status_code == 200 and found.json()["totalResults"] == 0
    group = {"schemas": [GROUP], "displayName": "Field sales", "members": [{"value": hostile}]}
    made = scim.post("/scim/v2/Groups", json.dumps(group), content_type=SCIM)
    assert made.status_code == 400 and "members" in made.json()["detail"]
    user = {
        "schemas": [USER, ENTERPRISE],
        "userName": "mo",
        "active": True,
        ENTERPRISE: {"manager": {"value": hostile}},
    }
    refused = scim.post("/scim/v2/Users", json.dumps(user), content_type=SCIM)
    assert refused.status_code == 400 and "manager" in refused.json()["detail"]
    assert Group.objects.count() == groups
    assert not User.objects.filter(username="mo").exists()


@pytest.mark.parametrize(
    "query",
    [
        "/scim/v2/Users?filter=id pr",
        "/scim/v2/Users?filter=active pr",
        "/scim/v2/Users?filter=manager pr",
        "/scim/v2/Groups?filter=id pr",
        "/scim/v2/Groups?filter=members pr",
        f"/scim/v2/Users?startIndex={10**30}",
    ],
)
def test_valid_filters_and_paging_on_any_attribute_answer_a_scim_list(scim, query):
    """RFC 7644 section 3.4.2.2: ``pr`` applies to every attribute; a start beyond the last
    row is an empty page. None of these is a server error."""
    response = scim.get(query)
    assert response.status_code == 200, response.content
    assert "totalResults" in response.json()


def test_a_body_too_deep_or_holding_a_nul_is_a_400_and_changes_nothing(scim):
    users = User.objects.count()
    deep = "[" * 5000 + "]" * 5000
    nul = {"schemas": [USER], "userName": "nul", "active": True, "externalId": "a\x00b"}
    for body in (deep, json.dumps(nul)):
        response = scim.post("/scim/v2/Users", body, content_type=SCIM)
        assert response.status_code == 400, response.content
    assert "NUL" in scim.post("/scim/v2/Users", json.dumps(nul), content_type=SCIM).json()["detail"]
    assert User.objects.count() == users


def test_listing_groups_costs_the_same_queries_for_few_or_many(scim):
    def listed() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert scim.get("/scim/v2/Groups").status_code == 200
        return len(queries.captured_queries)

    listed()  # the token's first use of the minute marks it (portal.identity.scim_tokens)
    few = listed()
    for n in range(20):
        group = Group.objects.create(name=f"Team {n}")
        group.user_set.add(UserFactory(username=f"member{n}"))
    assert listed() == few
