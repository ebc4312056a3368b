"""How a service's refusal reaches a person on a page: one translation for every view.

Services raise ``portal.errors.NotAllowed`` when the actor may not take an action on an
object they can see, and ``portal.errors.ApplicationError`` when a business rule says no.
On a page:

- ``NotAllowed`` is the 403 page. Views do not catch it: ``NotAllowedMiddleware`` turns it
  into Django's ``PermissionDenied``, so the page, its status and the security log line are
  the ones of every other 403 (``portal.views.permission_denied``).
- Any other ``ApplicationError`` is shown where the person acted: on the form they posted
  (at the field it names) or as a flash message. The view catches it and hands it to
  ``show_refusal``, which passes a ``NotAllowed`` on to the middleware.

The API has its own single translation (``portal.api.exception_handler``: 403 and 400 with
the message as JSON).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied

from portal.errors import ApplicationError, NotAllowed


class NotAllowedMiddleware:
    """A ``NotAllowed`` escaping a view becomes ``PermissionDenied(message)``: the 403 page.

    Objects a person may not see never get here: the per-object loaders
    (``*/permissions.py``) answer 404 before any service runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotAllowed):
            raise PermissionDenied(exception.message) from exception
        return None


def show_refusal(error: ApplicationError, *, form=None, request=None) -> None:
    """Show a service's refusal on the page, from a view's ``except ApplicationError``.

    In: the caught ``error``; ``form`` to put the message on (at ``error.field`` when the
    form has that field, else at the top of the form), or, without a form, ``request`` to
    flash it as an error message. A ``NotAllowed`` is raised again unchanged, for
    ``NotAllowedMiddleware`` to answer 403: a view never decides that status by hand.
    """
    if isinstance(error, NotAllowed):
        raise error
    if form is not None:
        form.add_error(error.field if error.field in form.fields else None, error.message)
    else:
        messages.error(request, error.message)
