"""Bulk state changes that keep row history.

``QuerySet.update()`` is one SQL statement and sends no signal, so django-simple-history
never sees it: the row changes and its history does not. Every state change of a model
with history goes through ``save()`` or through ``update_with_history`` below, which uses
simple-history's own ``bulk_update_with_history`` (one UPDATE per batch plus one INSERT of
history rows), so the history says who changed each row and why.

Counters and job markers (``customer_count``, ``download_count``, "reminded on") may still
use ``update()``; ``tests/portal/test_row_history.py`` keeps that list and fails on any
other ``.update(`` call.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Model, QuerySet
from simple_history.utils import bulk_update_with_history

if TYPE_CHECKING:
    from portal.models import User
from portal.input_limits import one_line

# simple-history's ``history_change_reason`` column is a CharField(max_length=100).
CHANGE_REASON_MAX = 100


def change_reason(text: str) -> str:
    """``text`` cut to what ``history_change_reason`` holds (100 characters)."""
    text = one_line(text)
    return text if len(text) <= CHANGE_REASON_MAX else text[: CHANGE_REASON_MAX - 1] + "…"


def history_user_set(instance: Model, actor: "User | None") -> None:  # i18n: not shown (a type)
    """Name ``actor`` (``None``: the system) as the user of the history row that the next
    save of ``instance`` (a model with row history) writes.

    simple-history reads it from the instance attribute ``_history_user``, its documented
    way to name the user outside a request. The models do not declare that attribute, so
    this is the one place that sets it (and the one type-check exception for it)."""
    instance._history_user = actor  # type: ignore[attr-defined]


def save_with_history(instance, *, actor, reason: str, update_fields=None) -> None:
    """Save ``instance`` (a model with row history) and its history row in one call: the
    row records ``actor`` (``None`` for the system) as ``history_user`` and ``reason``, cut
    by ``change_reason``, as ``history_change_reason``. ``update_fields`` as for
    ``Model.save`` (``None``: every field). Writes outside a request must name their user
    (house style), so the actor is a required argument."""
    history_user_set(instance, actor)
    instance._change_reason = change_reason(reason)
    instance.save(update_fields=update_fields)


@contextmanager
def history_paused(instance) -> Iterator[None]:
    """Within the block simple-history writes no row for ``instance``: neither for a save
    nor for a change of a many-to-many field it tracks (``m2m_fields``), where it would write
    one row per signal, without the reason (``.set()`` that removes and adds is two rows).

    The caller then saves ``instance`` once, with ``_history_user`` and ``_change_reason``
    set: one change, one history row, holding the new many-to-many values (simple-history
    copies them into every row it writes) with who and why. Uses simple-history's own
    switch, ``skip_history_when_saving``."""
    instance.skip_history_when_saving = True
    try:
        yield
    finally:
        del instance.skip_history_when_saving


@transaction.atomic
def update_with_history(queryset: QuerySet, *, actor, reason: str, **values) -> list:
    """Set ``values`` on every row of ``queryset`` and write one history row per changed row.

    Inputs: a queryset of a history-tracked model; ``actor`` the user recorded as
    ``history_user`` (``None`` for the system: a job or command with no person behind it);
    ``reason`` the ``history_change_reason`` (cut to 100 characters); ``values`` the field
    values, as keywords, as for ``QuerySet.update``.
    Output: the changed model instances (empty when no row matched).
    The rows are locked (``select_for_update``) and re-read inside the transaction, so a
    concurrent change cannot slip between the read and the write.
    Source: django-simple-history, "Bulk Creating and Updating a Model with History".
    """
    model = queryset.model
    rows = list(
        model._default_manager.select_for_update()
        .filter(pk__in=list(queryset.values_list("pk", flat=True)))
        .order_by("pk")
    )
    if not rows:
        return []
    for row in rows:
        for name, value in values.items():
            setattr(row, name, value)
    bulk_update_with_history(
        rows,
        model,
        list(values),
        default_user=actor if getattr(actor, "is_authenticated", False) else None,
        default_change_reason=change_reason(reason),
    )
    return rows
