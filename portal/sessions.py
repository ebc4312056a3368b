"""The session engine (``SESSION_ENGINE = "portal.sessions"``): Django's database sessions,
each row also holding the id of the person signed in (``UserSession.user_id``, indexed).

Ending a leaver's sessions (``portal.identity.leavers.sessions_end``) then deletes by that
index. Django's own session table keeps no user: finding one person's sessions meant
decoding every unexpired session of the company on each deactivation. Source: Django's
"Extending database-backed session engines" (``AbstractBaseSession``, ``get_model_class``,
``create_model_instance``).
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    """Database sessions in ``UserSession``, with their person's id."""

    @classmethod
    def get_model_class(cls):
        from portal.models import UserSession

        return UserSession

    def create_model_instance(self, data):
        """The row to save for ``data`` (the session's decoded dict), with ``user_id`` the
        signed-in person's id, or ``None`` for an anonymous session."""
        return _with_person(super().create_model_instance(data), data)

    async def acreate_model_instance(self, data):
        """The same, for ``asave``: Django builds its row without ``create_model_instance``."""
        return _with_person(await super().acreate_model_instance(data), data)


def _with_person(session, data):
    try:
        session.user_id = int(data.get(SESSION_KEY))
    except (TypeError, ValueError):
        session.user_id = None
    return session
