"""Every write to incidents, one module per concept: ``timeline`` (what every write does: lock,
log, audit, tell), ``reports`` (reporting and acknowledging), ``triage``, ``deadlines`` (the
regulators' clocks and the breach decisions) and ``escalation`` (the scheduled jobs that remind
and escalate).

Each service is one transaction that locks the incident it changes, re-checks the state
after locking, writes its timeline entry and audit event in the same transaction and tells
people through ``notify`` (rows now, e-mail on commit).

Confidentiality: notification subjects and bodies never name a confidential reporter, not
even to Compliance and Legal (e-mail is less protected than the portal), and the audit
event of a confidential report carries no actor."""
