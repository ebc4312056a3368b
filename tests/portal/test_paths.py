"""A row's link is the address ``reverse`` gives, written from the pattern's shape."""

import pytest
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from portal.paths import object_path

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
