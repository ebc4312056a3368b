"""Which customer columns each data category releases: the one mapping of data
minimisation for records pages, exports and sharing packages.

A records page, a grant's export and a sharing package show only the customer fields the
asset's (or the request's) data categories cover, plus the customer's id (GDPR Art. 5(1)(c)).
Both access (``customers``) and sharing (``consent``) read it, so it lives here, beside the
data categories, below both.
"""

from collections.abc import Iterable

from customers.models.catalogue import DataAsset

# Which customer field each data category releases (data minimisation: a records page or an
# export shows only the columns of the asset's categories, plus the customer's id).
CATEGORY_COLUMNS = [
    ("user.name", "name"),
    ("user.contact.email", "email"),
    ("user.contact.phone_number", "phone"),
    ("user.contact.organization", "organisation"),
    ("user.workplace", "organisation"),
    ("user.contact.address.country", "country"),
]


def record_columns(asset: DataAsset) -> list[str]:
    """The customer columns the asset's data categories cover, in a fixed order.

    A category covers a column when it is the column's category or an ancestor of it
    (``user.contact`` covers e-mail and phone).
    """
    return columns_for_categories([category.key for category in asset.data_categories.all()])


def columns_for_categories(keys: Iterable[str]) -> list[str]:
    """The customer columns these data category keys cover (id first), in a fixed order:
    the one mapping for records pages, exports and sharing packages."""
    columns = ["id"]
    for column_key, field in CATEGORY_COLUMNS:
        covered = any(column_key == key or column_key.startswith(key + ".") for key in keys)
        if covered and field not in columns:
            columns.append(field)
    return columns
