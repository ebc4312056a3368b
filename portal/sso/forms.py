"""The password form of the login page, whose refusal says which passwords still work."""

from django.contrib.auth.forms import AuthenticationForm

from portal.sso import provider


class LocalLoginForm(AuthenticationForm):
    """Django's login form; under ``LOCAL_LOGIN=breakglass`` its refusal says that passwords
    are for break-glass administrators only, without saying whether the name exists."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        if provider.local_login_mode() == provider.BREAKGLASS:
            self.error_messages = {
                **self.error_messages,
                "invalid_login": (
                    "Please enter the user name and password of a break-glass "
                    "administrator. Everyone else signs in with "
                    f"{provider.provider_name()}."
                ),
            }
