"""What people read for a taxonomy key: its name (``Marketing Email Communications``).

Every page and form that shows a purpose or a data category shows its name first, the key
beside it (``consent/templatetags/taxonomy.py``, ``consent/taxonomy_choices.py``). A page
often holds only the key (an impact summary, an export's purpose, the record of processing
activities), so the names come from a map key -> name, read from the taxonomy tables once per
process and kept: a page with a hundred keys costs no query per row.

The names change only when an operator edits the taxonomy's text in the admin (or the
taxonomy is reloaded). Every save of a purpose or a data category, once committed, forgets
this process's map and starts a new generation in the shared cache (Redis in production);
every other process compares its map's generation with the shared one at most every
``CHECK_SECONDS`` and reloads when they differ. So an edited name shows at once in the process
that saved it and within ``CHECK_SECONDS`` everywhere else. If the shared cache cannot be
reached, a map is kept for ``CHECK_SECONDS`` only.

The map holds the names as stored (fideslang's English, or an operator's edit); a page
translates a name where it shows it (``display_name``), through the gettext catalogue, with
the context of its kind (``purpose``, ``data category``: ``consent/taxonomy_messages.py``
marks every name of the default taxonomy). A name the catalogue lacks (an edit) reads as
stored. So the map is one per process whatever the languages, and a third language is one
more ``.po`` file.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import pgettext

from consent.models import DataCategory, Purpose, TaxonomyEntry
from portal.languages import per_language

logger = logging.getLogger(__name__)

GENERATION_KEY = "taxonomy-names:generation"
# How long a process trusts its map before it asks the shared cache whether names changed.
CHECK_SECONDS = 30.0

PURPOSE = "purpose"
CATEGORY = "category"
MODELS: dict[str, type[TaxonomyEntry]] = {PURPOSE: Purpose, CATEGORY: DataCategory}
# The gettext context of each kind's names: one English word may need two translations.
CONTEXTS = {PURPOSE: "purpose", CATEGORY: "data category"}


@dataclass(frozen=True)
class Entry:
    """A taxonomy key as people read it: ``name`` and the ``parent`` key (``None`` at the
    root)."""

    key: str
    name: str
    parent: str | None


@dataclass
class _Map:
    entries: dict[str, Entry]
    generation: int | None
    checked_at: float


_maps: dict[str, _Map] = {}
_lock = threading.Lock()


def _shared_generation() -> int | None:
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:  # a new cache: start a generation every process then shares
            cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
            generation = cache.get(GENERATION_KEY)
        return generation
    except Exception:  # the cache is down: trust the map for CHECK_SECONDS only
        logger.warning("Could not read the taxonomy names' generation", exc_info=True)
        return None


def _load(kind: str) -> dict[str, Entry]:
    rows = MODELS[kind].objects.values_list("key", "name", "parent__key")
    return {key: Entry(key, name or key, parent) for key, name, parent in rows}


def entries(kind: str) -> dict[str, Entry]:
    """Every key of ``kind`` (``"purpose"`` or ``"category"``), active or not, with its
    name and parent: ``{key: Entry}``.

    One query the first time in a process and after the names changed; none otherwise.
    """
    now = time.monotonic()
    current = _maps.get(kind)
    if current is not None and now - current.checked_at < CHECK_SECONDS:
        return current.entries
    generation = _shared_generation()
    if current is not None and generation is not None and generation == current.generation:
        current.checked_at = now
        return current.entries
    loaded = _Map(_load(kind), generation, now)
    with _lock:
        _maps[kind] = loaded
    return loaded.entries


def name_of(kind: str, key: str) -> str | None:
    """The name of ``key`` in the taxonomy of ``kind``, or ``None`` for a key it lacks."""
    entry = entries(kind).get(key)
    return entry.name if entry else None


@per_language
def display_name(kind: str, name: str) -> str:
    """``name`` (of a ``kind`` entry, as stored) in the active language; as it is when the
    catalogue lacks it (an operator's edit) or when it is empty. Remembered per language
    (``per_language``): a list names the same few purposes on every row."""
    return pgettext(CONTEXTS[kind], name) if name else name


def kind_of(entry: object) -> str:
    """``PURPOSE`` or ``CATEGORY`` for a ``Purpose`` / ``DataCategory`` (or a historical
    row of one)."""
    instance_type = getattr(entry, "instance_type", type(entry))
    return CATEGORY if issubclass(instance_type, DataCategory) else PURPOSE


def forget() -> None:
    """Drop this process's maps: the next read loads them again."""
    with _lock:
        _maps.clear()


def names_changed() -> None:
    """The taxonomy's text changed: this process forgets its maps now, every other process
    within ``CHECK_SECONDS`` (a new generation in the shared cache)."""
    forget()
    try:
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception:  # the others reload after CHECK_SECONDS anyway
        logger.warning("Could not start a new taxonomy names' generation", exc_info=True)


def _on_taxonomy_saved(**_kwargs) -> None:
    transaction.on_commit(names_changed)


for _model in MODELS.values():
    post_save.connect(_on_taxonomy_saved, sender=_model, dispatch_uid=f"names-{_model.__name__}")
    post_delete.connect(
        _on_taxonomy_saved, sender=_model, dispatch_uid=f"names-del-{_model.__name__}"
    )
