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


class CoverageRefusal(ApplicationError):
    """Nobody in the asset may be used for the purpose: an access or sharing request is
    refused at once, before any approver sees it, with what would work instead
    (``extra["alternatives"]``, when the service found some). design.md, access requests
    point 2 and external sharing; pages show the message, the API answers 400."""
