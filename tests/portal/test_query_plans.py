"""A view whose statements find rows by id or by the reader runs in one transaction in which
PostgreSQL may keep a prepared statement's plan; every other statement is still planned for
its own values, before and after, whatever happens inside."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.query_plans import plans_can_be_kept, plans_kept
from tests.portal.test_approvals_list import approvals_page, ask_access, shareable_asset

KEEP = "SET LOCAL plan_cache_mode = auto"


def plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def planned_each_run() -> str:
    # With prepared statements (DATABASE_PREPARE_THRESHOLD, default 5) the portal plans
    # every run for its values; without, PostgreSQL's default stands (nothing is prepared).
    return "force_custom_plan" if plans_can_be_kept() else "auto"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_plans_may_be_kept_inside_and_each_run_is_planned_again_after():
    with plans_kept():
        assert plan_cache_mode() == "auto"
    assert plan_cache_mode() == planned_each_run()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failure_inside_leaves_the_connection_planning_each_run():
    with pytest.raises(LookupError), plans_kept():
        raise LookupError("a view failed")
    assert plan_cache_mode() == planned_each_run()
    assert not connection.in_atomic_block


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_an_open_transaction_nothing_is_changed():
    # There the block would be a savepoint, and SET LOCAL would outlive it until the
    # outer transaction's end (ATOMIC_REQUESTS, a caller's atomic block).
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries, plans_kept():
            assert plan_cache_mode() == planned_each_run()
        assert KEEP not in [query["sql"] for query in queries.captured_queries]
        assert plan_cache_mode() == planned_each_run()


@pytest.mark.django_db
def test_where_nothing_is_prepared_nothing_is_sent(monkeypatch):
    # The SQLite demo, or PostgreSQL with DATABASE_PREPARE_THRESHOLD empty (behind
    # PgBouncer in transaction mode): every statement is planned for its values anyway.
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})
    with CaptureQueriesContext(connection) as queries, plans_kept():
        pass
    assert queries.captured_queries == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_approvals_page_keeps_the_plans_of_its_statements(client, requester, owner):
    for n in range(3):
        ask_access(requester, shareable_asset(owner, f"List {n}"))
    approvals_page(client, owner)  # signed in; the session and user are read
    with CaptureQueriesContext(connection) as queries:
        page = approvals_page(client, owner)
    statements = [query["sql"] for query in queries.captured_queries]

    assert len(page.context["rows"]) == 3
    kept = statements.index(KEEP) if plans_can_be_kept() else -1
    waiting = next(i for i, sql in enumerate(statements) if "OVER ()" in sql)
    assert kept < waiting  # the list's statements run after the setting
    assert plan_cache_mode() == planned_each_run()  # and it ended with the page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_page_that_reads_a_search_word_plans_each_run(client, compliance_officer):
    # The customer search's cost depends on the word: it never keeps a plan.
    client.force_login(compliance_officer)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("customers:customer_search"), {"q": "a"}).status_code == 200
    assert KEEP not in [query["sql"] for query in queries.captured_queries]
