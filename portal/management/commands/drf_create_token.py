"""``manage.py drf_create_token USER [--reset]``: the stock command, with the portal's rule.

It replaces Django REST framework's command of the same name (``portal`` is listed before
``rest_framework.authtoken``): a member of Compliance or Legal, or a superuser, gets a token
only once they have confirmed a two-factor device (``portal.services.api_token_issue``).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from rest_framework.authtoken.management.commands import drf_create_token

from portal import services
from portal.errors import ApplicationError


class Command(drf_create_token.Command):
    help = (
        "Create (or with --reset replace) the API token of USER. Refused for compliance, legal "
        "and superusers until they enrol a two-factor device."
    )

    def create_user_token(self, username, reset_token):
        user = get_user_model()._default_manager.get_by_natural_key(username)
        try:
            return services.api_token_issue(actor=None, user=user, reset=reset_token)
        except ApplicationError as error:
            raise CommandError(error.message) from error
