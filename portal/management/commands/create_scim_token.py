"""``manage.py create_scim_token ADMIN NAME``: a bearer token for the SCIM client NAME,
created in the name of the administrator ADMIN (a superuser) and printed once; only its
hash is kept (``portal.identity.scim_tokens``)."""

from django.core.management.base import BaseCommand, CommandError

from portal.errors import ApplicationError
from portal.identity.scim_tokens import scim_token_create
from portal.models import User


class Command(BaseCommand):
    help = "Create a SCIM bearer token (printed once) for the client NAME, as the superuser ADMIN."

    def add_arguments(self, parser):
        parser.add_argument("admin", help="username of the administrator creating it")
        parser.add_argument("name", help="which SCIM client will hold it, e.g. 'Entra ID'")

    def handle(self, *args, **options):
        admin = User.objects.filter(username=options["admin"]).first()
        if admin is None:
            raise CommandError(f"No user {options['admin']!r}.")
        try:
            token, raw = scim_token_create(actor=admin, name=options["name"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"SCIM token {token.prefix}… for {token.name}, shown once:\n{raw}")
