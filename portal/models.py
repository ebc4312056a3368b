from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords


class User(AbstractUser):
    """A person who signs in to the portal.

    Roles are not fields: compliance and legal are the groups ``Compliance`` and ``Legal``,
    a data owner is whoever owns an asset (see ``portal.roles``).
    """

    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA time zone used to show times to this person; empty means the site's.",
    )

    # Passwords and login times are not business history; keeping hashes in a second
    # table would only widen what a leak exposes.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        db_table = "portal_user"

    def __str__(self) -> str:
        return self.get_full_name() or self.username
