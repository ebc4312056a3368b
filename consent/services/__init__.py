"""Every write of consent and external sharing, one module per concept: ``records`` (one consent
record at a time), ``lawful_basis`` (compliance changes a purpose's lawful basis),
``imports`` (a CSV file all at once), ``import_jobs`` (an uploaded file imported in the
request or by a worker, with its progress and error report), ``sharing`` (external sharing requests
and their decision), ``packages`` (the shared file, its download and expiry),
``withdrawal_forwarding`` (GDPR Art. 19: a withdrawal reaches the recipients) and
``recipient_deletion`` (recipients confirm they deleted the data). Nothing is re-exported here."""
