"""The catalogue as a person browses it: search and filters over the assets they may see
(``customers.visibility``) and the owner choices; an asset's history is in ``asset_history``."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from consent.models import DataCategory
from customers.models.catalogue import Classification, DataAsset, effective_classification
from customers.visibility import Scope, asset_list_for, assets_in_scope, catalogue_scope
from portal.approval_rows import PersonRow, person_fields, someone_from
from portal.compiled_queries import CompiledList, CompiledQuery
from portal.languages import choice_label
from portal.models import User
from portal.pagination import PagedRows
from portal.selectors import people_named
from portal.text_search import contains_text


def asset_catalogue(
    user: User,
    *,
    q: str = "",
    classification: str = "",
    owner: User | None = None,
    category: DataCategory | None = None,
    confirmed: bool | None = None,
) -> "PagedRows[CatalogueRow]":
    """The catalogue as ``user`` sees it (``asset_list_for``), searched and filtered, by
    name: plain rows (``CatalogueRow``), read a page at a time.

    ``category`` matches the category and its sub-categories (``user.contact`` finds assets
    holding ``user.contact.email``). A page and the list's length are one statement,
    compiled once per scope, search and filters (``CompiledList``): the reader's id, the
    clock their grants' expiry is compared with and the owner filtered by are its values.
    """
    scope = catalogue_scope(user)
    values: tuple[Any, ...] = (user.pk, timezone.now()) if scope == Scope.VISIBLE else ()
    if owner is not None:
        values += (owner.pk,)
    shape = (
        scope,
        q,
        classification,
        None if category is None else category.key,
        confirmed,
        owner is not None,
    )
    # The rows read nothing but the assets' own fields: once a page's ids have passed the
    # visibility rule and the search, its rows are read by id alone.
    return _CATALOGUE.paged_rows(shape, values, catalogue_rows, read_ids=catalogue_rows_by_id)


# The catalogue's order (the page's statement and its rows read by id).
CATALOGUE_ORDER = ("name", "pk")


def _catalogue(shape: Any, values: tuple[Any, ...]) -> QuerySet[DataAsset]:
    """The catalogue's queryset for ``asset_catalogue``'s shape and values."""
    scope, q, classification, category_key, confirmed, by_owner = shape
    owner_id = values[-1] if by_owner else None
    assets = assets_in_scope(scope, *(values[:-1] if by_owner else values))
    if q:
        assets = assets.filter(
            contains_text("search_text", DataAsset.SEARCHED_FIELDS, q)
            | Q(owner__in=people_named(q))
        )
    if classification:
        assets = assets.filter(classification=classification)
    if by_owner:
        assets = assets.filter(owner=owner_id)
    if category_key is not None:
        matching = DataCategory.objects.filter(
            Q(key=category_key) | Q(key__startswith=category_key + ".")
        )
        assets = assets.filter(
            pk__in=DataAsset.data_categories.through.objects.filter(
                datacategory__in=matching
            ).values("dataasset_id")
        )
    if confirmed is not None:
        assets = assets.filter(classification_confirmed=confirmed)
    return assets.order_by(*CATALOGUE_ORDER)


_CATALOGUE = CompiledList(_catalogue)


# What a catalogue row shows, read as plain values: no model instance, no prefetch.
ROW_FIELDS = (
    "pk",
    "name",
    "description",
    "owner_id",
    *person_fields("owner"),
    "classification",
    "classification_confirmed",
    "customer_count",
    "source_system",
    "retention_date",
)


@dataclass(frozen=True)
class CatalogueRow:
    """One asset as the catalogue lists it (page and API): its metadata, its owner's name
    and the keys of its data categories and collection purposes, sorted."""

    pk: int
    name: str
    description: str
    owner_id: int
    owner: PersonRow
    classification: str
    classification_confirmed: bool
    customer_count: int
    source_system: str
    retention_date: date | None
    data_category_keys: tuple[str, ...]
    collected_for_keys: tuple[str, ...]

    @property
    def id(self) -> int:
        return self.pk

    @property
    def effective_classification(self) -> str:
        return effective_classification(self.classification, self.classification_confirmed)

    def get_classification_display(self) -> str:
        return choice_label(Classification, self.classification)


def _keys_subquery(relation: str, key_path: str) -> Subquery:
    """The sorted keys of one many-to-many relation of the asset in the outer query, as
    one array (PostgreSQL's ``array_agg``), computed in the row's own query."""
    through = getattr(DataAsset, relation).through
    return Subquery(
        through.objects.filter(dataasset_id=OuterRef("pk"))
        .order_by()
        .values("dataasset_id")
        .annotate(keys=ArrayAgg(key_path, order_by=key_path))
        .values("keys")
    )


def _keys_by_asset(relation: str, key_path: str, asset_ids: list[int]) -> dict[int, list[str]]:
    """The fallback of ``_keys_subquery`` for other databases (SQLite: the demo and part of
    the tests): one query for the keys of every asset of a page."""
    through = getattr(DataAsset, relation).through
    keys: defaultdict[int, list[str]] = defaultdict(list)
    rows = through.objects.filter(dataasset_id__in=asset_ids).order_by(key_path)
    for asset_id, key in rows.values_list("dataasset_id", key_path):
        keys[asset_id].append(key)
    return keys


# (relation on DataAsset, path of its key from the through table)
KEY_RELATIONS = {
    "data_category_keys": ("data_categories", "datacategory__key"),
    "collected_for_keys": ("collected_for", "purpose__key"),
}


def catalogue_rows(assets: QuerySet[DataAsset]) -> list[CatalogueRow]:
    """The rows of ``assets`` (a page of the catalogue): one query of plain values, the
    keys aggregated in SQL on PostgreSQL (one more query per relation on other
    databases), whatever the number of rows."""
    aggregated = connection.vendor == "postgresql"
    return _rows(list(_row_values(assets, aggregated)), aggregated)


def catalogue_rows_by_id(ids: list[int]) -> list[CatalogueRow]:
    """``catalogue_rows`` of the assets ``ids`` (ints, already through the visibility rule:
    none is tested again), in the catalogue's order, by a statement compiled once per
    number of ids (``CompiledQuery``); an id of no asset is left out. Raises nothing of
    its own."""
    aggregated = connection.vendor == "postgresql"
    return _rows(_ROWS_BY_ID.rows(aggregated, ids), aggregated)


def _row_values(assets: QuerySet[DataAsset], aggregated: bool) -> QuerySet[DataAsset, Any]:
    """``ROW_FIELDS`` of ``assets``, then (``aggregated``) each ``KEY_RELATIONS`` array."""
    values = assets.values_list(*ROW_FIELDS)
    if aggregated:
        values = values.annotate(
            **{name: _keys_subquery(*relation) for name, relation in KEY_RELATIONS.items()}
        )
    return values


_ROWS_BY_ID = CompiledQuery(
    lambda aggregated, ids: _row_values(
        DataAsset.objects.filter(pk__in=ids).order_by(*CATALOGUE_ORDER), aggregated
    )
)


def _rows(values: list[tuple], aggregated: bool) -> list[CatalogueRow]:
    """The rows of ``_row_values``' tuples; the keys read here unless ``aggregated``."""
    names = ROW_FIELDS + (tuple(KEY_RELATIONS) if aggregated else ())
    page = [dict(zip(names, row, strict=True)) for row in values]
    if not aggregated:
        ids = [row["pk"] for row in page]
        for name, relation in KEY_RELATIONS.items():
            keys = _keys_by_asset(*relation, ids)
            for row in page:
                row[name] = keys.get(row["pk"])
    return [_row(row) for row in page]


def _row(values: dict[str, Any]) -> CatalogueRow:
    return CatalogueRow(
        pk=values["pk"],
        name=values["name"],
        description=values["description"],
        owner_id=values["owner_id"],
        owner=someone_from(values, "owner"),
        classification=values["classification"],
        classification_confirmed=values["classification_confirmed"],
        customer_count=values["customer_count"],
        source_system=values["source_system"],
        retention_date=values["retention_date"],
        data_category_keys=tuple(values["data_category_keys"] or ()),
        collected_for_keys=tuple(values["collected_for_keys"] or ()),
    )


def asset_owner_choices(user: User) -> QuerySet[User]:
    """People who own at least one asset ``user`` can see: the values the owner filter
    accepts (an owner ``user`` cannot see owning anything is refused like an unknown id)."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(pk__in=asset_list_for(user).values("owner_id"))
        .order_by("first_name", "last_name", "username")
    )
