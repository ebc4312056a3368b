"""The fast canonical text is byte for byte the one every existing link was computed over.

Links sealed before the sealer and the verification were made fast must still verify, so
``canonical_values`` (a template) and ``RowLinker`` (straight from a row's columns) must
write exactly what ``json.dumps(sort_keys=True, separators=(",", ":"), default=str)``
wrote, for every value a row can hold, and a few it cannot.
"""

import hashlib
import hmac
import ipaddress
import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.audit import HASHED_FIELDS, canonical_values
from portal.audit_seal import LINKED_FIELDS, ROW_NAMES, RowLinker, link_of

KEY = b"tests-only-audit-key"


def reference_text(values: dict, fields: tuple[str, ...]) -> str:
    """How the canonical text was written before: the whole mapping through json.dumps."""
    content = {name: values[name] for name in fields}
    created_at = content["created_at"]
    if isinstance(created_at, datetime):
        text = created_at.astimezone(UTC).isoformat(timespec="microseconds")
        content["created_at"] = text.removesuffix("+00:00") + "Z"
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


texts = st.text(max_size=40)  # every code point: control characters, quotes, emoji, U+2028
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
ids = st.integers(min_value=1, max_value=2**63 - 1)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
events = st.fixed_dictionaries(
    {
        "id": ids,
        "position": ids,
        "key_id": texts,
        "hash": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        # PostgreSQL hands the time over as text already formatted, SQLite as a datetime.
        "created_at": times | times.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        "actor_id": st.none() | ids,
        "actor_label": texts,
        "action": texts,
        "target_type": texts,
        "target_id": texts,
        "target_label": texts,
        "asset_id": st.none() | ids,
        "detail": json_values,
        "channel": texts,
        "request_id": texts,
        "ip": st.none() | st.sampled_from(["10.0.0.7", "::1", ipaddress.ip_address("10.1.2.3")]),
        "token_id": texts,
        "previous_hash": texts,
    }
)


@settings(max_examples=400, deadline=None)
@given(events)
def test_the_canonical_text_is_the_one_json_dumps_wrote(values):
    for fields in (LINKED_FIELDS, HASHED_FIELDS):
        assert canonical_values(values, fields) == reference_text(values, fields)


@settings(max_examples=400, deadline=None)
@given(events)
def test_a_rows_link_is_the_link_of_its_values(values):
    row = tuple(values[name] for name in ROW_NAMES)
    expected = hmac.new(
        KEY, reference_text(values, LINKED_FIELDS).encode(), hashlib.sha256
    ).hexdigest()

    assert RowLinker({values["key_id"]: KEY}).link(row) == expected == link_of(values, KEY)


def test_a_time_in_another_zone_is_written_in_utc_with_microseconds():
    values = {name: "" for name in HASHED_FIELDS}
    values["created_at"] = datetime(
        2026, 11, 25, 13, 22, 5, 123, tzinfo=timezone(timedelta(hours=1))
    )

    assert '"created_at":"2026-11-25T12:22:05.000123Z"' in canonical_values(values)


def test_a_value_of_an_unexpected_type_takes_the_slow_way_to_the_same_link():
    values = {name: "" for name in ROW_NAMES}
    values.update(id=1, position=1, created_at=datetime(2026, 1, 1, tzinfo=UTC), detail={})
    values["action"] = 5  # what a tamperer can leave in SQLite's untyped column
    row = tuple(values[name] for name in ROW_NAMES)

    assert RowLinker({"": KEY}).link(row) == link_of(values, KEY)
