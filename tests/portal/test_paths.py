"""A row's link is the address ``reverse`` gives, written from the pattern's shape."""

import re
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from portal.paths import object_path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

NAMES = [
    "customers:asset_detail",
    "customers:grant_records",
    "customers:grant_export",
    "customers:grant_revoke",
    "customers:request_detail",
    "incidents:detail",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [0, 1, 42, 7318264059, 2**63 - 1])
def test_the_same_address_as_reverse(name, pk):
    assert object_path(name, pk) == reverse(name, args=[pk])


def test_a_script_prefix_is_kept_apart():
    plain = object_path("customers:asset_detail", 5)
    set_script_prefix("/portal/")
    try:
        assert object_path("customers:asset_detail", 5) == "/portal" + plain
        assert object_path("customers:asset_detail", 5) == reverse(
            "customers:asset_detail", args=[5]
        )
    finally:
        clear_script_prefix()
    assert object_path("customers:asset_detail", 5) == plain


@pytest.mark.parametrize("pk", ["abc", -1, None, True, 2.5])
def test_anything_but_a_whole_number_is_reverses_to_judge(pk):
    with pytest.raises(NoReverseMatch):
        object_path("customers:asset_detail", pk)


def test_an_unknown_name_is_refused_as_reverse_refuses_it():
    with pytest.raises(NoReverseMatch):
        object_path("customers:no_such_page", 1)


def test_the_template_filter_writes_what_the_url_tag_writes():
    from django.template import Context, Template

    page = Template(
        "{% load object_paths %}{% for pk in pks %}"
        "<a href=\"{% url 'incidents:detail' pk %}\">"
        "<a href=\"{{ pk|object_path:'incidents:detail' }}\">{% endfor %}"
    ).render(Context({"pks": [1, 25, 907]}))
    links = page.split("<a ")[1:]
    assert [links[i] for i in (0, 2, 4)] == [links[i] for i in (1, 3, 5)]
    assert links[2] == f'href="{reverse("incidents:detail", args=[25])}">'


def test_the_template_filter_refuses_what_the_url_tag_refuses():
    from django.template import Context, Template

    page = Template("{% load object_paths %}{{ pk|object_path:'incidents:detail' }}")
    with pytest.raises(NoReverseMatch):
        page.render(Context({"pk": None}))


def _loop_links_with_one_id(text, arguments_counted=(1,)):
    """The ``{% url %}`` tags inside a ``{% for %}`` of a template with as many arguments
    (after the name) as one of ``arguments_counted``."""
    found, depth = [], 0
    for tag in re.finditer(r"{%\s*(for|endfor|url)\b([^%]*)%}", text):
        kind, rest = tag.group(1), tag.group(2).split()
        depth += {"for": 1, "endfor": -1}.get(kind, 0)
        arguments = rest[: rest.index("as")] if "as" in rest else rest
        if kind == "url" and depth and len(arguments) - 1 in arguments_counted:
            found.append(tag.group(0))
    return found


def test_the_scan_sees_a_row_link():
    text = "{% for r in rows %}<a href=\"{% url 'x:y' r.pk %}\">{% endfor %}"
    assert _loop_links_with_one_id(text) == ["{% url 'x:y' r.pk %}"]
    named = "{% for r in rows %}{% url 'x:y' r.pk as link %}{% endfor %}"
    assert _loop_links_with_one_id(named) == ["{% url 'x:y' r.pk as link %}"]
    outside = "{% url 'x:y' r.pk %}{% for r in rows %}{% url 'x:y' r.pk w.pk %}{% endfor %}"
    assert _loop_links_with_one_id(outside) == []


def test_no_list_row_reverses_its_link():
    """Every link from a list's row to one object's page goes through the filter."""
    found = {
        str(path.relative_to(TEMPLATES)): links
        for path in TEMPLATES.rglob("*.html")
        if (links := _loop_links_with_one_id(path.read_text()))
    }
    assert found == {}


def test_no_list_row_reverses_the_same_address_again():
    """A link every row shares (a form's address with the row's id in the query string) is
    reversed once before the loop (``{% url ... as name %}``), not once per row."""
    shared = "{% for r in rows %}<a href=\"{% url 'x:y' %}?r={{ r.pk }}\">{% endfor %}"
    assert _loop_links_with_one_id(shared, (0,)) == ["{% url 'x:y' %}"]
    found = {
        str(path.relative_to(TEMPLATES)): links
        for path in TEMPLATES.rglob("*.html")
        if (links := _loop_links_with_one_id(path.read_text(), (0,)))
    }
    assert found == {}
