"""Identity: who has an account, and what ends when they leave or move.

- ``leavers``: the leaver (``deactivate_account``: everything a person held ends at once)
  and the mover (``account_moved``: their grants go to their owners for re-confirmation).
- ``scim_tokens``: the SCIM client's bearer tokens (only a hash is stored).
- ``scim_models``, ``scim_users``, ``scim_groups``: the SCIM 2.0 resources the portal
  serves (scim2-models) and how they map to accounts and groups.
- ``scim_filters``: SCIM filters as database conditions.
- ``scim_views``, ``scim_discovery``, ``scim_urls``: the ``/scim/v2/`` endpoints.
"""
