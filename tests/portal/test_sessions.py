"""The portal's sessions (``portal.sessions``): each knows its person, and the daily job
deletes the expired ones."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import UserSession
from portal.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db


def test_a_signed_in_session_records_its_person_and_an_anonymous_one_nobody(requester):
    signed_in, anonymous = Client(), Client()
    signed_in.force_login(requester)
    anonymous.get("/accounts/login/")
    anonymous.session["seen"] = True  # an anonymous session with data, saved
    anonymous.session.save()

    people = list(UserSession.objects.values_list("user_id", flat=True))

    assert sorted(people, key=lambda person: person or 0) == [None, requester.pk]
    row = UserSession.objects.get(user_id=requester.pk)
    assert row.get_decoded()["_auth_user_id"] == str(requester.pk)


def test_the_daily_job_deletes_expired_sessions_and_keeps_live_ones(requester, owner):
    for person in (requester, owner):
        Client().force_login(person)
    UserSession.objects.filter(user_id=owner.pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    clear_expired_sessions()

    assert list(UserSession.objects.values_list("user_id", flat=True)) == [requester.pk]


def test_a_session_saved_by_the_async_path_records_its_person_too(requester):
    # Django's asave() builds its row without create_model_instance (an async view, alogin).
    from asgiref.sync import async_to_sync
    from django.contrib.auth import SESSION_KEY

    from portal.sessions import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(requester.pk)
    async_to_sync(store.asave)()

    assert UserSession.objects.get(session_key=store.session_key).user_id == requester.pk
