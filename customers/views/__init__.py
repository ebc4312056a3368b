"""The customers app's pages, one module per concept: ``assets`` (catalogue, asset page and its
compliance forms), ``access`` (access requests and the approvals page), ``grants`` (grants,
records, exports), ``subject_requests`` (customer search, footprint, data subject requests,
erasure tasks) and ``retention``. ``customers/urls.py`` imports the modules."""
