"""An asset's history as compliance reads it: each row says what changed, and a row that
changed nothing a person can see (a save that rewrote the same values) is left out."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext, gettext_lazy

from customers.models.catalogue import DataAsset, class_word

# Rows shown on the asset's page, newest first.
HISTORY_ROWS = 50

# The fields whose change the page names, with how people call them. The reason, time and
# person of a classification change travel with the classification itself.
_FIELDS = {
    "name": gettext_lazy("name"),
    "description": gettext_lazy("description"),
    "source_system": gettext_lazy("source system"),
    "retention_date": gettext_lazy("retention date"),
    "retired_at": gettext_lazy("retired"),
}
# The many-to-many fields, as their row history stores them: the accessor on a history row
# (``<history model>_<field>``, Django's default ``_set`` name), the related row's field
# and how people call it.
_SETS = {
    "historicaldataasset_data_categories_set": ("datacategory", gettext_lazy("data categories")),
    "historicaldataasset_collected_for_set": ("purpose", gettext_lazy("collected for")),
}


@dataclass(frozen=True)
class HistoryEntry:
    """One row of the history table: the stored row (who, when, reason, the values after)
    and ``changes``, what it changed in words (``["created"]`` for the creation)."""

    row: Any
    changes: list[str]

    @property
    def reason(self) -> str:
        """The row's reason as written; a fixed reason the portal wrote itself (stored in
        English, such as "Registered in the catalogue") in the reader's language."""
        reason = self.row.history_change_reason or ""
        return gettext(reason) if reason else ""

    @property
    def classification(self) -> str:
        """The row's class as a word of the reader's language ("confidential")."""
        return class_word(self.row.classification)


def asset_history_entries(asset: DataAsset, limit: int = HISTORY_ROWS) -> list[HistoryEntry]:
    """The newest ``limit`` rows of ``asset``'s row history that change something, newest
    first, each with what it changed; rows that change nothing visible are dropped. A
    constant number of queries (the rows, and each many-to-many field's values with
    their related rows), one row more than shown so the oldest shown has its predecessor.
    """
    prefetches = [
        Prefetch(
            name,
            queryset=getattr(asset.history.model, name).rel.related_model.objects.select_related(
                target
            ),
        )
        for name, (target, _) in _SETS.items()
    ]
    rows = list(
        asset.history.select_related("history_user", "owner")
        .prefetch_related(*prefetches)
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    entries = []
    # Each row with the one before it (the next, newest first); the oldest with ``None``.
    # An asset may have no stored row at all (loaded in bulk, before its history was kept).
    for index, row in enumerate(rows):
        before = rows[index + 1] if index + 1 < len(rows) else None
        changes = _changes(before, row)
        if changes:
            entries.append(HistoryEntry(row=row, changes=changes))
    return entries[:limit]


def _changes(before: Any, after: Any) -> list[str]:
    """What ``after`` changed compared with ``before`` (the row before it, ``None`` when
    there is none stored), in words."""
    if after.history_type == "+":
        return [gettext("created")]
    if after.history_type == "-":
        return [gettext("removed")]
    if before is None:
        # History began after the asset existed: nothing to compare.
        return [gettext("recorded")]
    changes = []
    decision = ("classification", "classification_confirmed", "classified_at")
    if any(getattr(before, field) != getattr(after, field) for field in decision):
        # A compliance officer's decision: a new class, or the same class confirmed.
        if before.classification != after.classification:
            changes.append(
                gettext("classification %(before)s → %(after)s")
                % {
                    "before": class_word(before.classification),
                    "after": class_word(after.classification),
                }
            )
        else:
            changes.append(
                gettext("classification %(class)s confirmed")
                % {"class": class_word(after.classification)}
            )
    if before.owner_id != after.owner_id:
        changes.append(
            gettext("owner %(before)s → %(after)s") % {"before": before.owner, "after": after.owner}
        )
    changes += [
        str(label)
        for field, label in _FIELDS.items()
        if getattr(before, field) != getattr(after, field)
    ]
    for name, (target, label) in _SETS.items():
        old, new = _members(before, name, target), _members(after, name, target)
        if old != new:
            added = [f"+ {key}" for key in sorted(new - old)]
            removed = [f"− {key}" for key in sorted(old - new)]
            changes.append(f"{label}: {', '.join(added + removed)}")
    return changes


def _members(row: Any, name: str, target: str) -> set[str]:
    return {str(getattr(member, target)) for member in getattr(row, name).all()}
