"""Loading the privacy taxonomy from fideslang's default taxonomy.

No hand-typed copy: the keys, names, descriptions and parents come from the installed
fideslang package. Loading is idempotent; an existing purpose keeps the lawful basis
compliance may have edited.

The names people read are translated through the one gettext catalogue: ``manage.py
taxonomy_messages`` writes ``consent/taxonomy_messages.py``, a ``pgettext_lazy`` entry per
name (context ``purpose`` or ``data category``; Django has no ``pgettext_noop``, and a lazy
string costs nothing until it is read), from the same taxonomy, so ``makemessages`` finds
them; the pages translate a name where they show it (``consent.taxonomy_names``).
A test fails when that module and the installed taxonomy disagree.
"""

from dataclasses import dataclass
from pathlib import Path

from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from consent.models import LawfulBasis, key_and_ancestors
from consent.taxonomy_names import CATEGORY, CONTEXTS, PURPOSE

# design.md: the lawful basis each data use needs by default. The most specific key wins.
# Data uses not listed here default to consent: until compliance decides otherwise, the
# portal treats a use as one the customer must agree to (fail closed).
DEFAULT_LAWFUL_BASIS = {
    "essential": LawfulBasis.CONTRACT,
    "essential.legal_obligation": LawfulBasis.LEGAL_OBLIGATION,
    "marketing": LawfulBasis.CONSENT,
    "personalize": LawfulBasis.CONSENT,
    "third_party_sharing": LawfulBasis.CONSENT,
    "train_ai_system": LawfulBasis.CONSENT,
}


def default_lawful_basis(key: str) -> str:
    for candidate in key_and_ancestors(key):
        if candidate in DEFAULT_LAWFUL_BASIS:
            return DEFAULT_LAWFUL_BASIS[candidate]
    return LawfulBasis.CONSENT


@dataclass
class LoadResult:
    purposes_created: int = 0
    categories_created: int = 0
    updated: int = 0


def _load(model, entries, *, extra_defaults=None) -> tuple[int, int]:
    created = updated = 0
    # Parents sort before children because a parent's key is a prefix of the child's.
    for entry in sorted(entries, key=lambda e: e.fides_key.count(".")):
        fields = {
            "name": entry.name or entry.fides_key,
            "description": entry.description or "",
            "parent": model.objects.get(key=entry.parent_key) if entry.parent_key else None,
        }
        obj = model.objects.filter(key=entry.fides_key).first()
        if obj is None:
            defaults = extra_defaults(entry.fides_key) if extra_defaults else {}
            model.objects.create(key=entry.fides_key, **fields, **defaults)
            created += 1
            continue
        changed = {
            name: value
            for name, value in fields.items()
            if getattr(obj, name if name != "parent" else "parent_id")
            != (value.pk if name == "parent" and value else value)
        }
        if changed:
            for name, value in changed.items():
                setattr(obj, name, value)
            obj.save(update_fields=list(changed))
            updated += 1
    return created, updated


def load_default_taxonomy(*, purpose_model=None, category_model=None) -> LoadResult:
    """Create or refresh every default fideslang data use and data category.

    The model classes may be passed in so a data migration can use its historical models.
    """
    if purpose_model is None or category_model is None:
        from consent.models import DataCategory, Purpose

        purpose_model, category_model = Purpose, DataCategory
    result = LoadResult()
    result.purposes_created, updated_uses = _load(
        purpose_model,
        DEFAULT_TAXONOMY.data_use,
        extra_defaults=lambda key: {"lawful_basis": default_lawful_basis(key)},
    )
    result.categories_created, updated_categories = _load(
        category_model, DEFAULT_TAXONOMY.data_category
    )
    result.updated = updated_uses + updated_categories
    return result


# --- The names for the gettext catalogue -------------------------------------------------

TAXONOMY_MESSAGES_PATH = Path(__file__).with_name("taxonomy_messages.py")
LINE_LENGTH = 100


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _entry_lines(key: str, context: str, name: str) -> list[str]:
    """One dict entry as the formatter lays it out: on one line when it fits, else the
    call's arguments on a line of their own."""
    line = f"    {_literal(key)}: pgettext_lazy({_literal(context)}, {_literal(name)}),"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [
        f"    {_literal(key)}: pgettext_lazy(",
        f"        {_literal(context)}, {_literal(name)}",
        "    ),",
    ]


def taxonomy_messages_source() -> str:
    """The text of ``consent/taxonomy_messages.py`` for the installed fideslang taxonomy:
    ``PURPOSE_NAMES`` and ``CATEGORY_NAMES``, key -> English name, each name marked with
    its context for ``makemessages``."""
    lines = [
        '"""The names of fideslang\'s default taxonomy, marked for the gettext catalogue.',
        "",
        "Generated by ``manage.py taxonomy_messages`` from the installed fideslang: do not edit.",
        "The pages translate a name where they show it (``consent.taxonomy_names``).",
        '"""',
        "",
        "from django.utils.translation import pgettext_lazy",
    ]
    for constant, kind, entries in (
        ("PURPOSE_NAMES", PURPOSE, DEFAULT_TAXONOMY.data_use),
        ("CATEGORY_NAMES", CATEGORY, DEFAULT_TAXONOMY.data_category),
    ):
        lines += ["", f"{constant} = {{"]
        for entry in sorted(entries, key=lambda e: e.fides_key):
            lines += _entry_lines(entry.fides_key, CONTEXTS[kind], entry.name or entry.fides_key)
        lines.append("}")
    return "\n".join(lines) + "\n"
