"""The password form of the login page, whose refusal says which passwords still work."""

from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _

from portal.sso import provider


class LocalLoginForm(AuthenticationForm):
    """Django's login form; under ``LOCAL_LOGIN=breakglass`` its refusal says that passwords
    are for break-glass administrators only, without saying whether the name exists."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        if provider.local_login_mode() == provider.BREAKGLASS:
            self.error_messages = {
                **self.error_messages,
                "invalid_login": _(
                    "Please enter the user name and password of a break-glass "
                    "administrator. Everyone else signs in with %(provider)s."
                )
                % {"provider": provider.provider_name()},
            }
