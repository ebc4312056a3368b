"""The README's demo walk, done in a real browser from the README's own words.

The test reads README.md, takes the numbered steps of "## The demo walk" and drives Chromium
with the words they use: **bold** is a link, button or field label, *italic* an item (an
asset, a purpose, an option group), `code` a username, password or key. If the README names
a button the page does not have, or an option the form does not offer, the walk fails: the
README and the screen say the same thing. Every page visited is checked with axe
(tests/e2e/conftest.py).
"""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from consent.models import ConsentState, key_and_ancestors
from customers.models.access import AccessGrant, AccessRequest
from customers.models.catalogue import DataAsset
from portal.models import Notification, User

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "README.md"
JUSTIFICATION = "Spring newsletter to the customers who agreed to hear from us by e-mail."
REASON = "Consent is recorded and the purpose fits the campaign."


@dataclass
class Step:
    """One numbered step of the walk and the words it marks."""

    text: str
    bold: list[str]
    italic: list[str]
    code: list[str]


def readme_walk(text: str) -> list[Step]:
    """The numbered steps under "## The demo walk", each on one line (Markdown wraps them)."""
    section = text.split("## The demo walk", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^\d+\. (.+?)(?=^\d+\. |^\S|\Z)", section, flags=re.M | re.S)
    steps = []
    for item in items:
        line = " ".join(item.split())
        steps.append(
            Step(
                text=line,
                bold=re.findall(r"\*\*(.+?)\*\*", line),
                italic=re.findall(r"(?<![*\w])\*([^*]+?)\*(?![*\w])", line),
                code=re.findall(r"`([^`]+)`", line),
            )
        )
    return steps


def test_the_parser_reads_the_marks_of_a_wrapped_step():
    steps = readme_walk(
        "## The demo walk\n\n1. Log in as `alice`. Open **Check\n   coverage** and *Nordic\n"
        "   retail*.\n2. Then **Approve**.\n\nMore to try:\n"
    )
    assert [s.bold for s in steps] == [["Check coverage"], ["Approve"]]
    assert (steps[0].italic, steps[0].code) == (["Nordic retail"], ["alice"])


def open_menu(person, menu: str, item: str) -> None:
    """The menu bar's ``menu`` (a <details> menu), then its link ``item``."""
    page = person.page
    page.get_by_role("navigation", name="Main navigation").get_by_text(menu, exact=True).click()
    page.get_by_role("link", name=item, exact=True).click()
    page.wait_for_load_state("load")
    person.check_accessibility()


def click_link(person, name: str) -> None:
    person.page.get_by_role("link", name=name, exact=True).first.click()
    person.page.wait_for_load_state("load")
    person.check_accessibility()


def fill_request_form(person, step: Step) -> str:
    """Step 2's words on the request form; returns the coverage the form showed."""
    page = person.page
    purpose_field, level_field, level, justification, check, send = step.bold
    purpose_name, suggested_group, view_level = step.italic
    key = step.code[0]
    purpose = page.get_by_label(purpose_field)
    # Offered by name, the key beside it, among the suggestions for this asset.
    group = purpose.locator(f"optgroup[label='{suggested_group}']")
    expect(group.locator("option", has_text=purpose_name)).to_have_attribute("value", key)
    purpose.select_option(label=f"{purpose_name} ({key})")
    levels = page.get_by_role("group", name=level_field)
    assert levels.get_by_label(view_level).count() == 1
    levels.get_by_label(level).check()
    page.get_by_label(justification).fill(JUSTIFICATION)
    page.get_by_role("button", name=check, exact=True).click()
    page.wait_for_load_state("load")
    coverage = page.locator("#coverage")
    expect(coverage).to_contain_text(purpose_name)
    person.check_accessibility()
    shown = coverage.inner_text()
    page.get_by_role("button", name=send, exact=True).click()
    page.wait_for_load_state("load")
    return shown


def approve(browser_visit, step: Step, requester: str, asset: str) -> None:
    """Steps 3 and 4: an approver opens the request from Approvals and approves it."""
    username = step.code[0]
    menu, approvals, reason, approve_button = step.bold
    person = browser_visit()
    person.login(username)
    open_menu(person, menu, approvals)
    card = person.page.locator("article").filter(has_text=requester).filter(has_text=asset)
    card.get_by_role("link").first.click()
    person.page.wait_for_load_state("load")
    person.check_accessibility()
    person.page.get_by_label(reason).fill(REASON)
    person.page.get_by_role("button", name=approve_button, exact=True).click()
    person.page.wait_for_load_state("load")
    expect(person.page.get_by_role("status").first).to_contain_text("Approved")
    person.check_accessibility()
    person.logout()


def consenting_customer_ids(asset: DataAsset, key: str) -> set[int]:
    """Read straight from the consent states, not through the portal's selectors: the
    customers of ``asset`` whose latest state for ``key`` or a broader key is a grant."""
    latest: dict[int, ConsentState] = {}
    states = ConsentState.objects.filter(
        purpose__key__in=key_and_ancestors(key), customer__memberships__asset=asset
    )
    for state in states:
        seen = latest.get(state.customer_id)
        later = seen is None or state.effective_at > seen.effective_at
        tie_withdrawn = seen is not None and state.effective_at == seen.effective_at
        if later or (tie_withdrawn and state.status == "withdrawn"):
            latest[state.customer_id] = state
    return {customer for customer, state in latest.items() if state.status == "granted"}


def test_the_readme_demo_walk_in_a_browser(visit):
    steps = readme_walk(README.read_text(encoding="utf-8"))
    assert len(steps) == 6, [s.text for s in steps]
    one, two, three, four, five, six = steps

    # 1. alice opens the asset from the catalogue and asks for access.
    alice = visit()
    username, password = one.code
    alice.login(username, password)
    catalogue, request_access = one.bold
    (asset_name,) = one.italic
    click_link(alice, catalogue)
    click_link(alice, asset_name)
    click_link(alice, request_access)
    expect(alice.page.get_by_label("Asset")).to_have_value(
        str(DataAsset.objects.get(name=asset_name).pk)
    )

    # 2. Purpose by name, level, justification, coverage, send.
    total = re.search(r"of the ([\d,]+) customers", two.text).group(1)
    shown = fill_request_form(alice, two)
    assert re.match(rf"[1-9][\d,]* of {total} customers are eligible", shown), shown
    expect(alice.page.get_by_role("status").first).to_contain_text("Request sent")
    alice.check_accessibility()
    alice.logout()

    # 3 and 4. bob, then olivia, approve it.
    requester = User.objects.get(username=username).get_full_name()
    approve(visit, three, requester, three.italic[0])
    approve(visit, four, requester, asset_name)
    request = AccessRequest.objects.get(requester__username=username, asset__name=asset_name)
    assert request.status == "approved"

    # 5. alice reads the records and exports them: exactly the consenting customers.
    alice.login(five.code[0])
    menu, my_grants, records, export = five.bold
    open_menu(alice, menu, my_grants)
    click_link(alice, records)
    asset = DataAsset.objects.get(name=asset_name)
    expected = consenting_customer_ids(asset, two.code[0])
    assert 0 < len(expected) < asset.customer_count
    assert f"right now: {len(expected)}" in alice.page.inner_text("main")
    with alice.page.expect_download() as download_info:
        alice.page.get_by_role("link", name=export, exact=True).click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8")
    ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(content))]
    assert sorted(ids) == sorted(expected)
    grant = AccessGrant.objects.get(user__username=username, asset=asset)
    assert grant.level == "export"

    # 6. The unconfirmed legacy list for the same purpose: refused, alternatives, no approver.
    catalogue, request_access = six.bold
    (legacy,) = six.italic
    click_link(alice, catalogue)
    click_link(alice, legacy)
    click_link(alice, request_access)
    before = Notification.objects.filter(kind="approval_needed").count()
    page = alice.page
    page.get_by_label(two.bold[0]).select_option(value=two.code[0])
    page.get_by_label(two.bold[3]).fill(JUSTIFICATION)
    page.get_by_role("button", name=two.bold[5], exact=True).click()
    refusal = page.locator("#refusal")
    expect(refusal).to_contain_text(f"in {legacy}")
    expect(refusal).to_contain_text("What would work instead")
    alice.check_accessibility()
    assert not AccessRequest.objects.filter(asset__name=legacy).exists()
    assert Notification.objects.filter(kind="approval_needed").count() == before
