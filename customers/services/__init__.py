"""Every write to customers and data assets, one module per concept: ``assets`` (the catalogue and
its memberships, classification), ``stewardship`` (compliance's changes of an asset's owner
and collection purposes), ``access`` (access requests), ``grants`` (grants, their
expiry and revocation), ``exports`` (record views and exports through a grant),
``subject_requests`` (GDPR Art. 15-21 requests and erasure tasks) and ``retention`` (the end of
an asset's retention period), ``access_reviews`` (certification campaigns) and ``leavers``
(what ends when a person leaves, what is re-confirmed when they move).
Import the concept module you need; nothing is re-exported here."""
