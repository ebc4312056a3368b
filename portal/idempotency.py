"""Idempotent creates: a request repeated after a lost answer creates nothing new.

Semantics of the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header), as Stripe's API has them:

- the first request with a key runs; if it succeeds (2xx, or the form's redirect), its
  status and body are stored with the key, per user, for ``IDEMPOTENCY_KEY_TTL`` (24 h);
- the same key and the same request (method, path, body: ``request_hash``) answers the stored
  outcome again (header ``Idempotent-Replayed: true``) and runs nothing;
- the same key with another request answers 422; the same key while the first request
  is still running answers 409 (PostgreSQL: a transaction-scoped advisory lock on the key);
- a failed request (400, 403, 404, an exception) stores nothing: it created nothing, so
  repeating it runs it again.

The key row is written in the transaction that creates the object, and the answer is built
inside it from what is in hand; nothing runs after the commit that could fail. So a client
either gets the created object, or an error after which nothing was created, or (the
connection dropped while the answer travelled) repeats with the same key and gets the object.

Why not a library: the ones on PyPI for DRF (django-idempotency-key, drf-idempotency,
djangorestframework-idempotency-key ...) are middleware that store the response after the
view returned, i.e. after the create committed: a crash in between leaves an object and no
key, and the retry creates a second one, which is the fault this module exists to prevent.
"""

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.errors import ApplicationError
from portal.models import IdempotencyKey

T = TypeVar("T")

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
REPLAYED_HEADER = "Idempotent-Replayed"
# What a create form's page says when its key had already created the object it leads to.
ALREADY_SENT = gettext_lazy("This form was already sent; here is what it created.")
KEY_MAX_LENGTH = 255

# The header in the API schema, for every create that accepts it.
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        # The API schema, for the programmers of clients: English.
        "Optional, 1 to 255 printable ASCII characters,"  # i18n: not shown (schema)
        " new for each object you create (a "
        "UUID). Repeating the request with the same key and body within 24 hours answers the "
        "first outcome and creates nothing; another body with the key answers 422; while the "
        "first request runs, 409."
    ),
)


class KeyInUse(Exception):
    """Another request with this key is still running (HTTP 409)."""


class KeyReused(Exception):
    """This key was used for a different request (HTTP 422)."""


@dataclass
class Outcome:
    status: int
    body: dict
    replayed: bool


def valid_key(key: str, *, field: str = HEADER) -> str:
    """``key`` if it is 1 to 255 printable ASCII characters (the draft: a Structured Header
    string), else ``ValidationError`` naming ``field`` (a 400)."""
    if not key or len(key) > KEY_MAX_LENGTH or not all(" " <= c <= "~" for c in key):
        raise exceptions.ValidationError(
            {
                field: [
                    _("Must be 1 to %(max)s printable ASCII characters.") % {"max": KEY_MAX_LENGTH}
                ]
            }
        )
    return key


def _lock(user_id: int, key: str) -> bool:
    """Hold a lock on (user, key) until the transaction ends; False if another request holds
    it. PostgreSQL only: SQLite (tests, the local demo) runs one write at a time anyway."""
    if connection.vendor != "postgresql":
        return True
    digest = hashlib.sha256(f"{user_id}:{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return cursor.fetchone()[0]


def run_once(*, user, key: str, request_hash: str, run: Callable[[], tuple[int, dict]]) -> Outcome:
    """Run ``run`` (which creates and returns ``(status, JSON-able body)``) once per
    (``user``, ``key``) within ``IDEMPOTENCY_KEY_TTL``, in one transaction with the key.

    Out: the outcome of ``run``, or the stored one (``replayed``). Errors: ``KeyInUse``
    (409), ``KeyReused`` (422: the key came with another ``request_hash``); an
    ``ApplicationError`` from ``run`` propagates after commit with nothing stored (see
    ``atomic_keeping_refusals``); any other exception rolls everything back.
    """

    def once() -> Outcome:
        if not _lock(user.pk, key):
            raise KeyInUse()
        fresh_since = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
        earlier = IdempotencyKey.objects.filter(user=user, key=key).first()
        if earlier is not None and earlier.created_at >= fresh_since:
            if earlier.request_hash != request_hash:
                raise KeyReused()
            return Outcome(earlier.response_status, earlier.response_body, replayed=True)
        if earlier is not None:
            earlier.delete()  # expired, not yet pruned: the key is free again
        answer_status, body = run()
        if 200 <= answer_status < 400:
            IdempotencyKey.objects.create(
                user=user,
                key=key,
                request_hash=request_hash,
                response_status=answer_status,
                response_body=body,
            )
        return Outcome(answer_status, body, replayed=False)

    return atomic_keeping_refusals(once)


def atomic_keeping_refusals(run: Callable[[], T]) -> T:
    """``run()`` in one transaction, except that a refusal (``ApplicationError``) commits
    what was written before it and is then raised again.

    Why: a service may record a refusal before raising it (the audit event of an access or
    sharing request refused for lack of consent: compliance must see who asked for what),
    writing outside its own atomic block precisely so that the record stays. Everything a
    service writes inside its atomic block is rolled back by that block before the error
    reaches here. Any other exception (a bug, the database) rolls the whole create back.
    """
    refusal = None
    with transaction.atomic():
        try:
            result = run()
        except ApplicationError as error:
            refusal = error
    if refusal is not None:
        raise refusal
    return result


def request_hash(request) -> str:
    """SHA-256 of the method, the path and the parsed body (keys sorted), as hex."""
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent_create(create):
    """Decorate a DRF viewset's ``create`` (``def create(self, request)``): the whole create,
    answer included, runs in one transaction, and an ``Idempotency-Key`` header makes it
    idempotent (see the module). Without the header the create runs as before, but still
    builds its answer before the commit, so a failure after commit cannot turn the success
    into a 500."""

    @functools.wraps(create)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return atomic_keeping_refusals(lambda: create(self, request, *args, **kwargs))
        key = valid_key(key)
        answered = {}

        def run():
            response = create(self, request, *args, **kwargs)
            answered["response"] = response
            return response.status_code, json.loads(JSONRenderer().render(response.data) or b"{}")

        try:
            outcome = run_once(
                user=request.user, key=key, request_hash=request_hash(request), run=run
            )
        except KeyInUse:
            return Response(
                {"detail": _("A request with this Idempotency-Key is still being processed.")},
                status=status.HTTP_409_CONFLICT,
            )
        except KeyReused:
            return Response(
                {HEADER: [_("This key was already used for a different request.")]},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if not outcome.replayed:
            return answered["response"]
        return Response(outcome.body, status=outcome.status, headers={REPLAYED_HEADER: "true"})

    return wrapper


def form_key_field() -> str:
    """The hidden input a create form carries: a new random key each time it is rendered,
    so one rendering submitted twice (a double click, a resubmit after a lost answer)
    creates one object."""
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, uuid.uuid4().hex)


def create_once(
    request, create: Callable[[], object], *, url: Callable[[object], str]
) -> tuple[object | None, str]:
    """Run a form's ``create`` (returns the created object; ``url(object)`` is its page)
    once per hidden key (``form_key_field``).

    Out: ``(object, its URL)`` when created now; ``(None, URL)`` when this form was already
    submitted (the view redirects to what the first submission created, and says so).
    A form without the key (an old page) creates as before. Errors: what ``create`` raises.
    ``ApplicationError`` when the first submission is still running.
    """
    key = request.POST.get(FORM_FIELD, "")
    created = {}

    def run():
        obj = create()
        created["object"] = obj
        return status.HTTP_302_FOUND, {"location": url(obj)}

    if not key:
        atomic_keeping_refusals(run)
        return created["object"], url(created["object"])
    try:
        key = valid_key(key, field=FORM_FIELD)
    except exceptions.ValidationError:
        key = hashlib.sha256(key.encode()).hexdigest()  # a mangled key still dedupes
    # A form's key is unique to one rendering: any resubmission is the same request.
    try:
        outcome = run_once(user=request.user, key=key, request_hash=f"form {request.path}", run=run)
    except (KeyInUse, KeyReused) as error:
        raise ApplicationError(
            _(
                "This form was already sent and is still being processed; look for what it "
                "created in a moment instead of sending it again."
            )
        ) from error
    return created.get("object"), outcome.body["location"]


def idempotency_keys_prune() -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL``; returns how many. Beat runs it daily:
    an expired key no longer replays anyway (``run_once`` checks the age)."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
