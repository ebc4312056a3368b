import pytest
from django.urls import reverse

from portal.models import Notification
from portal.notifications import notify

pytestmark = pytest.mark.django_db


def tell(user, count=1, subject="Something needs you", body="", **fields) -> list[Notification]:
    context = {"subject": subject, "body": body}
    return [notify(users=[user], kind="test", context=context, **fields)[0] for _ in range(count)]


def test_bell_shows_the_unread_count_on_every_page(client, requester, outsider):
    tell(requester, 3)
    tell(outsider, 2)
    Notification.objects.filter(pk=tell(requester)[0].pk).update(read_at="2026-01-01T00:00Z")
    client.force_login(requester)

    for url in [reverse("notification_list"), reverse("customers:asset_list")]:
        response = client.get(url)
        assert response.context["unread_notifications"] == 3
        assert 'aria-label="Notifications: 3 unread"' in response.content.decode()


def test_inbox_lists_own_notifications_newest_first_opening_each(client, requester, outsider):
    first, second = tell(requester, 2, link="/assets/7/")
    tell(outsider, subject="For somebody else")
    client.force_login(requester)

    response = client.get(reverse("notification_list"))

    assert [n.pk for n in response.context["page"].object_list] == [second.pk, first.pk]
    html = response.content.decode()
    # The subject opens the item through its read form: marked read on the way.
    assert f'form="notification-form-{second.pk}" name="open"' in html
    assert "For somebody else" not in html
    opened = client.post(reverse("notification_read", args=[second.pk]), {"open": "1"})
    assert opened["Location"] == "/assets/7/"
    second.refresh_from_db()
    assert second.read_at is not None


def test_inbox_is_paginated(client, requester):
    tell(requester, 30)
    client.force_login(requester)

    page2 = client.get(reverse("notification_list"), {"page": 2})

    assert len(page2.context["page"].object_list) == 5
    assert page2.context["page"].paginator.count == 30


def test_inbox_needs_a_login(client):
    response = client.get(reverse("notification_list"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_mark_read_in_the_inbox_lowers_the_unread_count(client, requester):
    first, second = tell(requester, 2)
    client.force_login(requester)

    response = client.post(reverse("notification_read", args=[first.pk]))

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert client.get(reverse("notification_list")).context["unread_notifications"] == 1


def test_open_marks_read_and_goes_to_the_object(client, requester):
    (row,) = tell(requester, link="/assets/7/")
    client.force_login(requester)

    response = client.post(reverse("notification_read", args=[row.pk]), {"open": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/assets/7/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_open_never_redirects_off_site(client, requester):
    (row,) = tell(requester, link="//evil.example.com/")
    client.force_login(requester)

    response = client.post(reverse("notification_read", args=[row.pk]), {"open": "1"})

    assert response["Location"] == reverse("notification_list")


def test_reading_again_keeps_the_first_read_time(client, requester):
    (row,) = tell(requester)
    client.force_login(requester)
    client.post(reverse("notification_read", args=[row.pk]))
    row.refresh_from_db()
    first_read = row.read_at

    client.post(reverse("notification_read", args=[row.pk]))

    row.refresh_from_db()
    assert row.read_at == first_read


def test_mark_all_read_touches_only_own_notifications(client, requester, outsider):
    tell(requester, 3)
    (theirs,) = tell(outsider)
    client.force_login(requester)

    response = client.post(reverse("notification_read_all"))

    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=requester, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_another_users_notification_is_404_in_the_ui_and_stays_unread(client, requester, outsider):
    (theirs,) = tell(outsider)
    client.force_login(requester)

    response = client.post(reverse("notification_read", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_needs_post(client, requester):
    (row,) = tell(requester)
    client.force_login(requester)

    assert client.get(reverse("notification_read", args=[row.pk])).status_code == 405
    row.refresh_from_db()
    assert row.read_at is None


@pytest.mark.parametrize("count", [3, 60])
def test_inbox_page_runs_a_constant_number_of_queries(
    client, requester, count, django_assert_max_num_queries
):
    tell(requester, count, body="Details", link="/assets/1/")
    client.force_login(requester)

    with django_assert_max_num_queries(6):
        response = client.get(reverse("notification_list"))

    assert response.status_code == 200


# --- API ---------------------------------------------------------------------------------


def test_api_lists_own_notifications_newest_first(api_client, requester, outsider):
    first, second = tell(requester, 2, link="/assets/7/")
    tell(outsider)
    api_client.force_authenticate(requester)

    response = api_client.get("/api/notifications/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [n["id"] for n in results] == [second.pk, first.pk]
    assert results[0]["link"] == "/assets/7/"
    assert results[0]["unread"] is True


def test_api_unread_filter_counts_the_unread(api_client, requester):
    first, _ = tell(requester, 2)
    api_client.force_authenticate(requester)
    api_client.post(f"/api/notifications/{first.pk}/read/")

    response = api_client.get("/api/notifications/", {"unread": "1"})

    assert response.json()["count"] == 1


def test_api_mark_read(api_client, requester):
    (row,) = tell(requester)
    api_client.force_authenticate(requester)

    response = api_client.post(f"/api/notifications/{row.pk}/read/")

    assert response.status_code == 200
    assert response.json()["unread"] is False
    row.refresh_from_db()
    assert row.read_at is not None


def test_api_mark_all_read(api_client, requester):
    tell(requester, 3)
    api_client.force_authenticate(requester)

    response = api_client.post("/api/notifications/read-all/")

    assert response.json() == {"marked_read": 3}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_api_another_users_notification_is_404(api_client, requester, outsider):
    (theirs,) = tell(outsider)
    api_client.force_authenticate(requester)

    response = api_client.post(f"/api/notifications/{theirs.pk}/read/")

    assert response.status_code == 404
    assert "detail" in response.json()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_needs_authentication(api_client):
    assert api_client.get("/api/notifications/").status_code in {401, 403}


@pytest.mark.parametrize("count", [3, 60])
def test_api_list_runs_a_constant_number_of_queries(
    api_client, requester, count, django_assert_max_num_queries
):
    tell(requester, count)
    api_client.force_authenticate(requester)

    with django_assert_max_num_queries(3):
        response = api_client.get("/api/notifications/", {"page_size": 100})

    assert len(response.json()["results"]) == count
