"""Every write of consent and external sharing, one module per concept: ``records`` (one consent
record at a time), ``imports`` (a CSV file all at once), ``sharing`` (external sharing requests
and their decision), ``packages`` (the shared file, its download and expiry),
``withdrawal_forwarding`` (GDPR Art. 19: a withdrawal reaches the recipients) and
``recipient_deletion`` (recipients confirm they deleted the data). Nothing is re-exported here."""
