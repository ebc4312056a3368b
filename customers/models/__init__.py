"""The customers app's models, one module per concept: ``catalogue`` (customers, data assets and
their memberships, classification), ``access`` (access requests and grants), ``access_reviews``
(review campaigns and their items), ``exports`` (the export ledger), ``subject_requests`` (data
subject requests, erasure tasks, their reminders) and ``retention``."""

# Django registers a model when its module is imported: these imports are the
# registration, not a re-export (callers import the concept module).
from customers.models import (
    access,  # noqa: F401
    access_reviews,  # noqa: F401
    catalogue,  # noqa: F401
    exports,  # noqa: F401
    retention,  # noqa: F401
    subject_requests,  # noqa: F401
)
