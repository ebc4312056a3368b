"""Every read of customers and data assets that involves a rule, one module per concept:
``catalogue`` (which assets a person sees), ``access`` (access requests), ``grants`` (active grants
and the records they open), ``customer_search``, ``subject_requests``, ``retention`` and
``footprint`` (everything the portal holds about one customer), ``asset_history`` (what each
row of an asset's history changed). Nothing is re-exported here."""
