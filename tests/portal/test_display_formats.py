"""One format for dates and times, in the person's zone, and one number format everywhere
(portal/display.py, portal/formats/): pages, the inbox, e-mails; ids, page numbers and
coordinates in addresses and attributes never grouped."""

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from customers.models.catalogue import DataAsset
from portal.models import Notification
from portal.notification_delivery import notification_email
from portal.notifications import notify
from tests.factories import DataAssetFactory

MOMENT = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)  # 10:12 in Oslo, 04:12 in New York
DECIDE = "Decide in the portal: "
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def in_new_york(requester):
    requester.time_zone = "America/New_York"
    requester.save(update_fields=["time_zone"])
    return requester


def test_the_inbox_shows_times_in_the_readers_zone_in_the_one_format(client, in_new_york, owner):
    with time_machine.travel(MOMENT, tick=False):
        notify(users=[in_new_york, owner], kind="test", context={"subject": "S", "body": "B"})

    client.force_login(in_new_york)
    new_york = client.get(reverse("notification_list")).content.decode()
    client.force_login(owner)
    oslo = client.get(reverse("notification_list")).content.decode()

    assert "30 Nov 2026 04:12 EST</time>" in new_york
    assert "30 Nov 2026 10:12 CET</time>" in oslo
    assert "a.m." not in new_york + oslo


def test_the_api_answers_iso_times_in_the_sites_zone_whoever_asks(api_client, in_new_york):
    with time_machine.travel(MOMENT, tick=False):
        notify(users=[in_new_york], kind="test", context={"subject": "S", "body": "B"})
    api_client.force_authenticate(in_new_york)

    (item,) = api_client.get("/api/notifications/").json()["results"]

    assert item["created_at"].startswith("2026-11-30T10:12:00")
    assert item["created_at"].endswith("+01:00")


def test_each_recipient_reads_the_grant_e_mail_in_their_own_zone_not_utc(in_new_york, owner):
    grant = SimpleNamespace(
        asset=SimpleNamespace(name="Nordic retail customers"),
        purpose=SimpleNamespace(key="marketing.communications.email"),
        expires_at=MOMENT,
    )
    notify(users=[in_new_york, owner], kind="grant_created", context={"grant": grant})

    bodies = {n.recipient_id: n.body for n in Notification.objects.filter(kind="grant_created")}
    assert "until 30 Nov 2026 04:12 EST." in bodies[in_new_york.pk]
    assert "until 30 Nov 2026 10:12 CET." in bodies[owner.pk]
    assert "UTC" not in "".join(bodies.values())


def test_a_person_chooses_their_time_zone_on_the_account_page(client, requester):
    client.force_login(requester)
    page = client.get(reverse("account")).content.decode()
    assert 'value="Europe/Oslo" selected' in page  # the site's zone until one is chosen

    answer = client.post(reverse("account"), {"time_zone": "America/New_York"}, follow=True)

    requester.refresh_from_db()
    assert requester.time_zone == "America/New_York"
    assert "Times are now shown in America/New_York" in answer.content.decode()
    assert requester.history.first().history_change_reason == "Time zone chosen"


@pytest.mark.parametrize("typed", ["Mars/Olympus_Mons", "", "localtime", "Europe/Oslo\x00"])
def test_an_unknown_time_zone_is_refused_with_a_message_and_nothing_changes(
    client, requester, typed
):
    client.force_login(requester)

    answer = client.post(reverse("account"), {"time_zone": typed})

    assert answer.status_code == 400
    assert "time zone" in answer.content.decode().lower() or "choice" in answer.content.decode()
    requester.refresh_from_db()
    assert requester.time_zone == ""


def test_the_path_in_an_inbox_body_is_a_link_and_the_e_mail_carries_the_full_address(
    client, requester, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_URL = "https://portal.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(
            users=[requester],
            kind="test",
            context={
                "subject": "Decide",
                "body": "Step 1: Data owner. Decide in the portal: /requests/4/",
            },
            link="/requests/4/",
        )
    client.force_login(requester)

    page = client.get(reverse("notification_list")).content.decode()

    assert (
        'Decide in the portal: <a href="/requests/4/">https://portal.example.com/requests/4/</a>'
        in page
    )
    email = notification_email(row)
    assert email.body.endswith("Decide in the portal: https://portal.example.com/requests/4/")
    assert email.body.count("https://portal.example.com/requests/4/") == 1
    assert mail.outbox[0].body == email.body


def test_ids_and_page_numbers_in_addresses_and_attributes_are_never_grouped(
    client, requester, owner
):
    for _ in range(26):  # two pages: the pagination's links and hidden page number
        notify(users=[requester], kind="test", context={"subject": "S", "body": "B"})
    Notification.objects.create(
        id=123456, recipient=requester, kind="test", subject="Newest", body="B", link="/x/"
    )
    DataAssetFactory(id=54321, owner=owner, name="Large ids", customers=1)
    DataAsset.objects.filter(pk=54321).update(customer_count=1234)
    client.force_login(requester)

    inbox = client.get(reverse("notification_list")).content.decode()
    catalogue = client.get(reverse("customers:asset_list")).content.decode()

    assert 'id="notification-123456"' in inbox
    assert 'action="/notifications/123456/read/"' in inbox
    assert "/assets/54321/" in catalogue
    assert "1,234" in catalogue  # the count is grouped ...
    for html in (inbox, catalogue):  # ... no address, id or form value is
        assert not re.search(r'(href|id|value|action|form)="[^"]*\d,\d', html)


# --- Guards for templates written later ---------------------------------------------------

ATTRIBUTE = re.compile(r"""\s[\w:-]+=(["'])(.*?)\1""", re.S)
VARIABLE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
NUMERIC_NAME = re.compile(r"(\bpk|\bid|_id|number|count|total|\.x|\.y|width|height|progress)$")
NAMED_FORMATS = {"DATETIME_FORMAT", "DATE_FORMAT", "TIME_FORMAT", "c"}
# Filters that write a number without the locale's grouping: unlocalize itself, and
# object_path (an address, which reverse() writes with plain digits).
PLAIN_DIGITS = ("unlocalize", "object_path")


def templates():
    return sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))


def test_no_template_prints_a_number_into_an_attribute_with_a_thousands_separator():
    unguarded = []
    for path in templates():
        for attribute in ATTRIBUTE.finditer(path.read_text()):
            for expression in VARIABLE.findall(attribute.group(2)):
                bare = expression.split("|")[0].strip()
                if NUMERIC_NAME.search(bare) and not any(f in expression for f in PLAIN_DIGITS):
                    unguarded.append(f"{path.relative_to(TEMPLATES)}: {{{{ {expression} }}}}")
    assert unguarded == []


def test_every_template_date_uses_a_named_format_of_the_locale():
    hand_written = []
    for path in templates():
        text = path.read_text()
        for fmt in re.findall(r"""\|date:["']([^"']*)["']""", text):
            if fmt not in NAMED_FORMATS and not (fmt == "Y-m-d" and "with q=" in text):
                hand_written.append(f"{path.relative_to(TEMPLATES)}: {fmt}")
        hand_written += [
            f"{path.relative_to(TEMPLATES)}: {found}"
            for found in re.findall(r"\|(?:time|format|utc_text|in_zone)\b[^}]*", text)
        ]
    assert hand_written == []


def test_a_day_reads_in_each_language_however_often_it_is_asked():
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from django.utils import translation

    from portal.display import date_text

    day = date(2026, 12, 1)
    with translation.override("en-gb"):
        english = [date_text(day) for _ in range(2)]
    with translation.override("nb"):
        norwegian = [date_text(day) for _ in range(2)]
    assert english == ["1 Dec 2026", "1 Dec 2026"]
    assert norwegian == ["01.12.2026", "01.12.2026"]
    # One instant in two zones is two days: a datetime is formatted as given, never shared.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with translation.override("en-gb"):
        assert date_text(late) == "30 Nov 2026"
        assert date_text(late.astimezone(ZoneInfo("Europe/Oslo"))) == "1 Dec 2026"


def test_a_remembered_day_follows_a_change_of_the_format_modules(settings):
    from datetime import date

    from django.utils import translation

    from portal.display import date_text

    day = date(2026, 12, 1)
    with translation.override("nb"):
        assert date_text(day) == "01.12.2026"  # the portal's format module
        settings.FORMAT_MODULE_PATH = None  # Django's own Norwegian format
        assert date_text(day) == "1. desember 2026"


def test_a_remembered_moment_reads_in_each_zone_and_language_and_follows_the_formats(settings):
    from zoneinfo import ZoneInfo

    from django.utils import timezone, translation

    from portal.display import _datetime_text, datetime_text

    oslo, new_york = ZoneInfo("Europe/Oslo"), ZoneInfo("America/New_York")
    _datetime_text.cache_clear()
    with translation.override("en-gb"):
        # One instant, asked for twice in each zone: each zone's own clock, every time,
        # formatted once and then remembered.
        assert [datetime_text(MOMENT, oslo) for _ in range(2)] == ["30 Nov 2026 10:12 CET"] * 2
        assert (_datetime_text.cache_info().misses, _datetime_text.cache_info().hits) == (1, 1)
        assert datetime_text(MOMENT, new_york) == "30 Nov 2026 04:12 EST"
        # The same instant written in another zone is the same moment.
        assert datetime_text(MOMENT.astimezone(new_york), oslo) == "30 Nov 2026 10:12 CET"
        with timezone.override(new_york):  # the reader's zone when none is given
            assert datetime_text(MOMENT) == "30 Nov 2026 04:12 EST"
    with translation.override("nb"):
        assert datetime_text(MOMENT, oslo) == "30.11.2026 10:12 CET"
        settings.FORMAT_MODULE_PATH = None  # Django's own Norwegian format
        assert datetime_text(MOMENT, oslo) != "30.11.2026 10:12 CET"
    with pytest.raises(ValueError):
        datetime_text(MOMENT.replace(tzinfo=None), oslo)


def test_the_two_half_past_twos_of_the_night_summer_time_ends_read_as_two_moments():
    from zoneinfo import ZoneInfo

    from django.utils import translation

    from portal.display import datetime_text

    oslo = ZoneInfo("Europe/Oslo")
    # 25 October 2026: 02:30 comes twice in Oslo, at 00:30 and at 01:30 UTC. The two
    # compare equal (one zone, one wall clock), but are two instants.
    summer = datetime(2026, 10, 25, 2, 30, tzinfo=oslo)
    winter = summer.replace(fold=1)
    utc = ZoneInfo("UTC")
    with translation.override("en-gb"):
        assert datetime_text(summer, utc) == "25 Oct 2026 00:30 UTC"
        assert datetime_text(winter, utc) == "25 Oct 2026 01:30 UTC"
        # In Oslo both read 02:30: Django leaves out the zone's name of an hour that
        # comes twice (it could be either).
        assert datetime_text(summer, oslo) == datetime_text(winter, oslo) == "25 Oct 2026 02:30 "


def test_a_row_that_switches_language_leaves_every_remembered_date_in_its_own_language():
    from datetime import date
    from zoneinfo import ZoneInfo

    from django.utils import translation

    from portal.display import date_text, datetime_text
    from portal.languages import reads_language_once

    day, oslo = date(2027, 3, 4), ZoneInfo("Europe/Oslo")

    @reads_language_once
    def row_that_switches() -> tuple[str, str]:
        # What a row must not do; the texts keep the language the row started in.
        with translation.override("en-gb"):
            return date_text(day), datetime_text(MOMENT, oslo)

    with translation.override("nb"):
        assert row_that_switches() == ("04.03.2027", "30.11.2026 10:12 CET")
    with translation.override("en-gb"):  # nothing Norwegian remembered as English
        assert (date_text(day), datetime_text(MOMENT, oslo)) == (
            "4 Mar 2027",
            "30 Nov 2026 10:12 CET",
        )
