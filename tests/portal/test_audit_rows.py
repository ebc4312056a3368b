"""The audit log's rows (``{% audit_row %}``): the HTML the page's template wrote, every
value escaped once, in the reader's language and time zone."""

from datetime import UTC, datetime

import pytest
from django.template import engines
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from portal.selectors import AuditEventRow
from portal.templatetags.audit_rows import audit_row

MARKUP = "<b>&'\""
ESCAPED = "&lt;b&gt;&amp;&#x27;&quot;"
# 00:00 on 2 July in Oslo (summer time): the day and the zone's name follow the reader.
SUMMER_NIGHT = datetime(2026, 7, 1, 22, tzinfo=UTC)


def event(**fields):
    values = {
        "pk": 12345,
        "created_at": datetime(2026, 11, 30, 9, 12, tzinfo=UTC),
        "actor_label": f"Otto {MARKUP}",
        "action": "records",
        "action_label": f"Records viewed {MARKUP}",
        "target_type": "grant",
        "target_label": f"Grant {MARKUP}",
        "asset_id": 1234,
        "asset_label": f"asset {MARKUP}",
        "detail": {},
        "channel": "web",
        "channel_label": "Web",
        "ip": "192.0.2.7",
        # As the view fills them in: the text translated, escaped and cut (safe HTML).
        "details": ((f"Rows {MARKUP}", mark_safe(f"25 {ESCAPED}")), ("Page", mark_safe("2"))),
    }
    return AuditEventRow(**{**values, **fields})


def test_a_row_escapes_every_value_once_and_reads_in_the_readers_zone():
    with translation.override("en-gb"), timezone.override("America/New_York"):
        html = str(audit_row(event()))

    assert '<td class="small text-muted">12345</td>' in html  # an id is never grouped
    assert '<td class="small text-nowrap">30 Nov 2026 04:12 EST</td>' in html
    assert "<td>Otto " + ESCAPED + "</td>" in html
    assert "<td>Records viewed " + ESCAPED + '<div class="small"><code>records</code>' in html
    assert (
        '<td class="small">Grant ' + ESCAPED + ' <a href="?asset=1234" '
        'title="Events of this asset">(asset ' + ESCAPED + ")</a></td>"
    ) in html
    assert '<span class="text-muted">Rows ' + ESCAPED + ":</span> 25 " + ESCAPED in html
    assert '<td class="small">Web<div class="text-muted">192.0.2.7</div></td>' in html
    assert MARKUP not in html and "&amp;lt;" not in html  # never raw, never twice


# The template the tag replaced, word for word: the tag must write the same HTML.
TEMPLATE_ROWS = (
    "{% load l10n i18n %}"
    '  {% translate "Events of this asset" as asset_events_label %}\n'
    "  {% for event in rows %}\n"
    "    <tr>\n"
    '      <td class="small text-muted">{{ event.pk|unlocalize }}</td>\n'
    '      <td class="small text-nowrap">{{ event.created_at|date:"DATETIME_FORMAT" }}</td>\n'
    "      <td>{{ event.actor_label }}</td>\n"
    "      <td>{{ event.action_label }}"
    '<div class="small"><code>{{ event.action }}</code></div></td>\n'
    '      <td class="small">{{ event.target_label|default:event.target_type }}'
    '{% if event.asset_id %} <a href="?asset={{ event.asset_id|unlocalize }}" '
    'title="{{ asset_events_label }}">({{ event.asset_label }})</a>{% endif %}</td>\n'
    '      <td class="small text-break">{% for label, shown in event.details %}'
    '<div><span class="text-muted">{{ label }}:</span> {{ shown }}</div>{% endfor %}</td>\n'
    '      <td class="small">{{ event.get_channel_display }}'
    '{% if event.ip %}<div class="text-muted">{{ event.ip }}</div>{% endif %}</td>\n'
    "    </tr>\n"
    "  {% endfor %}\n"
)
TAG_ROWS = "{% load audit_rows %}  {% for event in rows %}{% audit_row event %}{% endfor %}\n"


@pytest.mark.parametrize("language", ["en-gb", "nb"])
def test_the_tag_writes_what_the_template_wrote(language):
    rows = [
        event(),
        # No asset, no target label, no address, no detail: each part left out as before.
        event(pk=7, asset_id=None, asset_label="", target_label="", ip=None, details=()),
        event(
            pk=8, channel="api", channel_label="API", created_at=datetime(2026, 7, 1, tzinfo=UTC)
        ),
    ]
    engine = engines["django"]
    with translation.override(language), timezone.override("Europe/Oslo"):
        expected = engine.from_string(TEMPLATE_ROWS).render({"rows": rows})
        written = engine.from_string(TAG_ROWS).render({"rows": rows})

    # The template's first line holds only its {% translate ... as %}: the tag needs none.
    assert written == expected.replace("  \n", "", 1)
