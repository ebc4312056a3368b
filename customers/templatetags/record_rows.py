"""The rows of the records page: one per customer read through a grant.

``{% load record_rows %}`` then ``{% record_rows page.object_list %}``, where each row is a
dict of the grant's columns (``customers.selectors.grants.grant_records``): a ``<tr>`` per
customer with a ``<td>`` per column, in the dict's order.

Written in Python rather than as two nested template loops, for the reason of
``approval_cards``: a page of 50 customers is some 350 loop steps and variable nodes, which
cost more than reading the customers. Each value is written as the template writes a
variable (``render_value_in_context``: in the reader's time zone and number format,
escaped), so the HTML is the loops' own.
"""

from typing import Any

from django import template
from django.template.base import render_value_in_context
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def record_rows(context: template.Context, rows: list[dict[str, Any]]) -> SafeString:
    """``rows`` (dicts of column values) as ``<tr>`` elements with a ``<td>`` per value,
    each value as ``{{ value }}`` would write it in ``context``. Raises nothing of its own."""
    return mark_safe(  # noqa: S308 (every value escaped by render_value_in_context)
        "".join(
            "<tr>"
            + "".join(
                f"<td>{render_value_in_context(value, context)}</td>" for value in row.values()
            )
            + "</tr>"
            for row in rows
        )
    )
