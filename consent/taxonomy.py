"""Loading the privacy taxonomy from fideslang's default taxonomy.

No hand-typed copy: the keys, names, descriptions and parents come from the installed
fideslang package. Loading is idempotent; an existing purpose keeps the lawful basis
compliance may have edited.
"""

from dataclasses import dataclass

from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from consent.models import LawfulBasis, key_and_ancestors

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
