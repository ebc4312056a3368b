"""An asset's kept customer count (``DataAsset.customer_count``: the catalogue's figure and
coverage's total for a purpose on consent) is right only while every membership change goes
through the membership services, which recount the assets in the same transaction
(``customers/services/assets.py``). These tests scan the code (the apps, the tests, the
benchmarks) for the direct ways to write memberships: ``AssetCustomer`` rows built, or
written through its manager; the assets' ``customers`` and ``memberships`` managers; the
many-to-many's ``through`` model. A call on any of them outside the services fails.

Not caught: a queryset kept in a variable and written later, a model imported under
another name, raw SQL (the benchmarks load memberships with SQL and recount after), a
customer's deletion (memberships go with it; nothing deletes customers, and the admin does
not list them) and a write through ``Customer.assets``, a name other relations use too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("portal", "customers", "consent", "incidents", "tests", "benchmarks")
MEMBERSHIP_SERVICES = Path("customers/services/assets.py")
# Writers that recount: the test factory stores the count as the services do.
RECOUNTING = {MEMBERSHIP_SERVICES, Path("tests/factories.py")}
# The model's managers.
MANAGERS = {"objects", "_default_manager"}
WRITES = {
    "add",
    "bulk_create",
    "bulk_update",
    "clear",
    "create",
    "delete",
    "get_or_create",
    "remove",
    "set",
    "update",
    "update_or_create",
}
# The many-to-many manager of an asset's customers, and its membership rows.
RELATIONS = {"customers", "memberships"}


def chain(node: ast.expr) -> list[str]:
    """The names along a call chain, from its root: ``AssetCustomer.objects.filter(x).delete``
    gives ``["AssetCustomer", "objects", "filter", "delete"]``."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        else:
            return names[::-1]


def membership_writes(source: str) -> list[tuple[int, str]]:
    """``(line, call)`` of every call in ``source`` that writes memberships."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        names = chain(node)
        if names == ["AssetCustomer"] or names[-2:] == ["customers", "through"]:
            found.append((node.lineno, ".".join(names) + "(...)"))
        elif names and names[-1] in WRITES and len(names) > 1:
            through_model = names[0] == "AssetCustomer" and MANAGERS & set(names)
            if through_model or RELATIONS & set(names[1:-1]):
                found.append((node.lineno, ".".join(names)))
    return found


def project_modules() -> list[Path]:
    return sorted(
        path.relative_to(ROOT)
        for package in SCANNED
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_the_scan_finds_every_way_of_writing_memberships():
    source = """
AssetCustomer(asset=a, customer=c)
DataAsset.customers.through(asset=a, customer=c)
AssetCustomer.objects.create(asset=a, customer=c)
AssetCustomer._default_manager.bulk_create(rows)
AssetCustomer.objects.filter(asset=a).delete()
asset.customers.add(customer)
asset.customers.set([])
asset.memberships.all().delete()
AssetCustomer.objects.filter(asset=a).count()
asset.customers.all()
incident.assets.set([asset])
"""
    assert [call for _, call in membership_writes(source)] == [
        "AssetCustomer(...)",
        "DataAsset.customers.through(...)",
        "AssetCustomer.objects.create",
        "AssetCustomer._default_manager.bulk_create",
        "AssetCustomer.objects.filter.delete",
        "asset.customers.add",
        "asset.customers.set",
        "asset.memberships.all.delete",
    ]


@pytest.mark.parametrize("module", project_modules(), ids=str)
def test_memberships_are_written_by_the_membership_services_only(module):
    if module in RECOUNTING:
        assert membership_writes((ROOT / module).read_text()), "they write memberships"
        return
    writes = membership_writes((ROOT / module).read_text())

    assert writes == [], (
        f"{module} writes memberships outside {MEMBERSHIP_SERVICES}, so the assets' kept "
        f"customer counts go stale (use asset_add_customers, memberships_remove): {writes}"
    )
