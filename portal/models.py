from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portal.audit_actions import AuditAction
from portal.audit_append_only import (
    CANNOT_CHANGE,
    CANNOT_DELETE,
    AuditEventQuerySet,
    AuditTrailIsAppendOnly,
)
from portal.text_search import capitals_of


class User(AbstractUser):
    """A person who signs in to the portal.

    Roles are not fields: compliance and legal are the groups ``Compliance`` and ``Legal``,
    a data owner is whoever owns an asset (see ``portal.roles``).
    """

    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("IANA time zone used to show times to this person; empty means the site's."),
    )
    language = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text=_(
            "Language of pages and e-mails (a code of settings.LANGUAGES); empty means "
            "the browser's."
        ),
    )
    # From the directory (SCIM provisioning, portal.identity): a change of department or
    # manager makes the person a mover, whose grants their owners re-confirm.
    department = models.CharField(max_length=200, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    scim_external_id = models.CharField(
        max_length=255, blank=True, help_text=_("The directory's own id (SCIM externalId).")
    )
    scim_deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "Removed by the directory (SCIM DELETE): deactivated, kept for the audit "
            "trail, no longer a SCIM resource."
        ),
    )

    # The names a search for a person matches (``portal.selectors.people_named``), in
    # capitals, computed by the database on every write (``portal.text_search``).
    SEARCHED_FIELDS = ("username", "first_name", "last_name")
    search_text = models.GeneratedField(
        expression=capitals_of(*SEARCHED_FIELDS), output_field=models.TextField(), db_persist=True
    )

    # Passwords and login times are not business history; keeping hashes in a second
    # table would only widen what a leak exposes. The search text is derived.
    history = HistoricalRecords(excluded_fields=["password", "last_login", "search_text"])

    class Meta:
        db_table = "portal_user"

    def __str__(self) -> str:
        return person_name(self.first_name, self.last_name, self.username)


def person_name(first_name: str, last_name: str, username: str) -> str:
    """How a person is named on every page: their full name (Django's ``get_full_name``:
    first and last name, trimmed), else their username. Lists read from plain values
    (the catalogue, grants) name people with it without building ``User`` objects."""
    return f"{first_name} {last_name}".strip() or username


class UserSession(AbstractBaseSession):
    """A signed-in session (Django's database session, ``portal.sessions``) with the id of
    the person it belongs to, so that a leaver's sessions are found by an index, not by
    decoding every session of the company."""

    user_id = models.BigIntegerField(null=True, db_index=True)

    @classmethod
    def get_session_store_class(cls):
        """The store of ``SESSION_ENGINE`` (``portal.sessions``), by name: that module
        imports this one."""
        return import_module(settings.SESSION_ENGINE).SessionStore


class SingleSignOnIdentity(models.Model):
    """The person at the identity provider behind an account: the issuer and its ``sub``.

    ``sub`` is the one claim OpenID Connect promises never to reassign within an issuer
    (OIDC Core 1.0, section 5.7); a user name or e-mail can change or be reused. The first
    sign-in links the account (an existing local one of the same user name, or a new one);
    every later sign-in finds it by this row alone.
    """

    user = models.ForeignKey(
        "portal.User", on_delete=models.CASCADE, related_name="single_sign_on_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique"),
            # One identity per issuer and account: a second person cannot take it over.
            models.UniqueConstraint(fields=["issuer", "user"], name="sso_identity_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class ScimToken(models.Model):
    """The bearer token of a SCIM provisioning client (the identity provider).

    Only its SHA-256 is stored: the token is shown once, when an administrator creates it
    (``manage.py create_scim_token`` or the admin), and cannot be read back. 32 random bytes
    need no slow hash: nobody can guess them, so the hash only keeps a database leak from
    being a way in. A revoked token stays, so audit events can keep naming it.
    """

    name = models.CharField(max_length=100, help_text=_("Which client holds it."))
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text=_("Its first characters, to recognise it."))
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"SCIM token {self.name} ({self.prefix}…)"


class DirectoryGroup(models.Model):
    """What the directory (SCIM) says of a group beyond its name: its own id for it."""

    group = models.OneToOneField(
        "auth.Group", on_delete=models.CASCADE, related_name="directory", primary_key=True
    )
    external_id = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"directory id of {self.group_id}"


class AuditChannel(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    COMMAND = "command", _("Command")
    TASK = "task", _("Task")
    SCIM = "scim", _("SCIM provisioning")


class AuditEvent(models.Model):
    """One entry of the append-only audit trail.

    Written unsealed by ``audit_record`` (``position`` and ``hash`` empty); the sealer then
    gives it, once, its ``position`` in the log and its keyed link: ``hash`` is HMAC-SHA-256,
    with the key named by ``key_id``, over the event's canonical content, its position and
    ``previous_hash`` (the link before it), so any edit, deletion, insertion or reordering
    breaks the log there (``portal.audit_seal``). Not a history row: events are never
    updated (but for that one sealing) or deleted, not even by an administrator.
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    actor_label = models.CharField(max_length=150, help_text=_("Username then, or 'system'."))
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    asset_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text=_("The data asset the event concerns.")
    )
    detail = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=16, choices=AuditChannel.choices)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    token_id = models.CharField(max_length=32, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    position = models.BigIntegerField(
        unique=True, null=True, blank=True, help_text=_("Place in the sealed log, from 1.")
    )
    key_id = models.CharField(max_length=32, blank=True, help_text=_("The HMAC key of the link."))

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            # The log filtered by actor (``audit_event_list_for``): the label as written.
            models.Index(Upper("actor_label"), name="auditevent_actor_label"),
            # What the sealer looks for every second: the few events not sealed yet.
            models.Index(
                fields=["id"],
                condition=models.Q(position__isnull=True),
                name="portal_audit_unsealed",
            ),
        ]
        # Deletions Django collects itself (cascades) use the base manager: make it ours.
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditTrailIsAppendOnly(CANNOT_CHANGE)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditTrailIsAppendOnly(CANNOT_DELETE)

    @property
    def action_label(self) -> str:
        """What ``action`` means, in the reader's language (its ``AuditAction`` label); the
        key itself for an action no longer listed."""
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action


class AuditChainHead(models.Model):
    """The sealed log's head: the last sealed event, its position and link.

    Only the sealer writes it (one at a time, under an advisory lock); writers of events
    never touch it.
    """

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    last_position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit head at #{self.last_event_id}"


class Notification(models.Model):
    """One message to one person: shown in their inbox and delivered by e-mail.

    Written in the transaction of the event that causes it (an outbox row); a Celery task
    queued on commit delivers the e-mail and sets ``sent_at``; a beat job re-queues rows
    still pending, so nothing is lost when Redis or a worker is down. An error that cannot
    succeed on a retry (the mail server refused the recipient, a header cannot be built)
    sets ``failed_at`` instead: the row is not retried until compliance retries it.
    """

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text=_("Path of the object."))
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The outbox sweep leaves the row alone until then (retry backoff)."),
    )
    failed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When delivery failed for good (see last_error); no retry until asked."),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(
                fields=["created_at"],
                name="notification_pending",
                condition=models.Q(sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id}: {self.subject}"

    @property
    def can_retry(self) -> bool:
        """Failed for good and never sent: what ``notification_retry`` sends again."""
        return self.failed_at is not None and self.sent_at is None


class ApprovalRole(models.TextChoices):
    OWNER = "owner", _("Data owner")
    COMPLIANCE = "compliance", _("Compliance")
    LEGAL = "legal", _("Legal")


class ChainStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class StepStatus(models.TextChoices):
    WAITING = "waiting", _("Not yet reached")
    OPEN = "open", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    CANCELLED = "cancelled", _("Not needed")


class ApprovalChain(models.Model):
    """The steps a request goes through before it is approved: one engine for every kind
    of request (access requests, sharing requests); each kind says which steps it needs."""

    kind = models.CharField(max_length=32, db_index=True)
    requester = models.ForeignKey(User, on_delete=models.PROTECT, related_name="approval_chains")
    status = models.CharField(
        max_length=16, choices=ChainStatus.choices, default=ChainStatus.PENDING, db_index=True
    )
    title = models.CharField(max_length=300, help_text=_("What is asked, in a line."))
    summary = models.CharField(
        max_length=300, blank=True, help_text=_("What approvers should know first.")
    )
    link = models.CharField(max_length=300, help_text=_("Path of the request's page."))
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The approvals list's pending chains, read from this small index alone.
            models.Index(
                fields=["id"],
                include=["created_at", "requester", "kind"],
                name="approvalchain_pending",
                condition=models.Q(status=ChainStatus.PENDING),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        """The path of the request's page (``link``, given when the chain is published)."""
        return self.link

    @property
    def open_step(self) -> "ApprovalStep | None":
        """The step waiting for a decision now; ``None`` once the chain is decided or
        withdrawn. The one definition of "the open step" every page and service reads.

        Reads ``steps.all()``, so a list that prefetched the steps (``steps_with_deciders``)
        pays no query per row; without a prefetch it is one query."""
        return next((step for step in self.steps.all() if step.status == StepStatus.OPEN), None)


class ApprovalStep(models.Model):
    chain = models.ForeignKey(ApprovalChain, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16, choices=ApprovalRole.choices)
    approver = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For an owner step: the owner who decides it."),
    )
    replaces_owner = models.BooleanField(
        default=False, help_text=_("Compliance decides because the requester owns the asset.")
    )
    status = models.CharField(
        max_length=16, choices=StepStatus.choices, default=StepStatus.WAITING, db_index=True
    )
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    requirement = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Something the decider must supply to approve (e.g. a transfer safeguard)."),
    )
    inputs = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["chain", "position"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "position"], name="approvalstep_position"),
        ]
        indexes = [
            models.Index(fields=["status", "role"], name="approvalstep_open_role"),
            # "Waiting for me" reads only open steps, by role and, for owners, approver: a
            # small partial index instead of the status index over every step ever decided.
            models.Index(
                fields=["role", "approver"],
                name="approvalstep_open_by_approver",
                condition=models.Q(status=StepStatus.OPEN),
            ),
            # Segregation of duties leaves out every chain a person already decided a step
            # of (``open_steps_for``): read from this index alone, the database hashes that
            # person's chains once instead of probing each open step's chain (961 waiting
            # for a compliance officer of the scale data: 4.0 ms to 2.5).
            models.Index(fields=["decided_by", "chain"], name="approvalstep_decided_by_chain"),
            # Its open steps, merged with ``approvalchain_pending`` from the two indexes
            # alone (961 steps waiting at scale: 4.8 to 6.3 ms to 2.4 to 3.8).
            models.Index(
                fields=["chain"],
                include=["id", "role", "approver"],
                name="approvalstep_open_by_chain",
                condition=models.Q(status=StepStatus.OPEN),
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.position} ({self.role}) of {self.chain_id}"


class IdempotencyKey(models.Model):
    """The first outcome of a create sent with an ``Idempotency-Key`` (an API header or a
    form's hidden field), written in the transaction that created the object: a client that
    repeats the request after a lost answer gets this answer and nothing new is created.

    ``request_hash``: SHA-256 of the method, path and body, so the same key with another body
    is refused. Kept ``IDEMPOTENCY_KEY_TTL`` seconds (24 hours), then pruned by beat.
    """

    user = models.ForeignKey("portal.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self):
        return f"{self.key} ({self.response_status})"


class ScheduledJobRun(models.Model):
    """When a scheduled (beat) job last started and last succeeded: the job does everything
    due since ``last_success_at``, and a job without success in twice its period is overdue
    (``portal.scheduled_jobs``)."""

    name = models.CharField(max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self):
        return self.name
