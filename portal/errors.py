class ApplicationError(Exception):
    """A business rule said no.

    Raised by services with a message meant for the person who asked; views turn it into a
    form error or a flash message, the API into a 400 with ``{"detail": message}``.
    """

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class NotAllowed(ApplicationError):
    """The actor may not take this action on an object they can see: a 403, not a 400."""
