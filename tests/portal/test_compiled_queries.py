"""Statements compiled once per shape and run with each call's ids: the rows are those the
ORM reads for the same ids, and a statement that cannot be reused is refused, never run
with another call's values."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.compiled_queries import CompiledQuery, CompiledQueryError
from portal.models import ApprovalChain, ApprovalStep, StepStatus, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def steps_of(shape, chain_ids):
    # A JSON column and a moment: both need the ORM's converters on one database or other.
    return (
        ApprovalStep.objects.filter(chain_id__in=chain_ids, status__in=shape)
        .order_by("chain_id", "position")
        .values_list("chain_id", "position", "inputs", "chain__created_at")
    )


def chain_with_steps(requester, *inputs):
    chain = ApprovalChain.objects.create(kind="access", requester=requester, title="t", summary="s")
    for position, given in enumerate(inputs, start=1):
        ApprovalStep.objects.create(
            chain=chain, position=position, role="owner", status="open", inputs=given
        )
    return chain


@pytest.fixture
def chains():
    person = UserFactory()
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        first = chain_with_steps(person, {"contract": "A-1"}, {})
    second = chain_with_steps(person, {"dpa": True})
    third = chain_with_steps(person)
    return first, second, third


OPEN = (StepStatus.OPEN,)


def test_each_call_reads_the_rows_the_orm_reads_for_its_own_ids(chains):
    first, second, third = chains
    query = CompiledQuery(steps_of)
    for ids in ([first.pk], [second.pk], [first.pk, second.pk], [second.pk, third.pk]):
        rows = query.rows(OPEN, ids)
        assert rows == list(steps_of(OPEN, tuple(ids)))
    # Converted as the ORM converts: the inputs are a dict, the moment is aware.
    (_, _, inputs, created_at), _ = query.rows(OPEN, [first.pk])
    assert inputs == {"contract": "A-1"}
    assert created_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # Another shape is another statement: no step is approved yet.
    assert query.rows((StepStatus.APPROVED,), [first.pk]) == []


def test_a_shape_is_built_and_compiled_once_then_only_its_ids_are_sent(chains, settings):
    settings.COMPILED_QUERIES_CHECK = False
    first, second, _ = chains
    built = []

    def build(shape, ids):
        built.append(ids)
        return steps_of(shape, ids)

    query = CompiledQuery(build)
    with CaptureQueriesContext(connection) as queries:
        assert [row[0] for row in query.rows(OPEN, [first.pk])] == [first.pk, first.pk]
        assert [row[0] for row in query.rows(OPEN, [second.pk])] == [second.pk]
    assert len(queries) == 2
    # Built once per set of stand-ins (two), at the first call; the second only sends.
    assert len(built) == 2
    query.rows(OPEN, [first.pk, second.pk])  # two ids: another statement
    assert len(built) == 4


def test_no_ids_reads_nothing_without_asking_the_database(chains):
    query = CompiledQuery(steps_of)
    with CaptureQueriesContext(connection) as queries:
        assert query.rows(OPEN, []) == []
    assert len(queries) == 0


@pytest.mark.parametrize("values", [["1"], [True], [1.0], [None], [datetime(2026, 3, 2)]])
def test_values_are_ids_and_aware_moments(values):
    with pytest.raises(TypeError):
        CompiledQuery(steps_of).rows(OPEN, values)


def test_a_moment_is_sent_as_django_sends_it(chains):
    """A clock compared with a moment column: on SQLite Django sends it as text in UTC,
    on PostgreSQL as itself; each call's moment is adapted so."""
    first, second, third = chains
    query = CompiledQuery(
        lambda shape, values: (
            ApprovalChain.objects.filter(created_at__gt=values[0], pk__in=values[1:])
            .order_by("pk")
            .values_list("pk")
        )
    )
    ids = [first.pk, second.pk, third.pk]
    before = datetime(2026, 3, 2, 8, 59, tzinfo=UTC)
    after = datetime(2026, 3, 2, 9, 1, tzinfo=UTC)
    assert query.rows(None, [before, *ids]) == [(first.pk,), (second.pk,), (third.pk,)]
    assert query.rows(None, [after, *ids]) == [(second.pk,), (third.pk,)]


def test_an_id_written_into_the_sql_text_is_refused_before_anything_runs(chains):
    first, _, _ = chains
    in_text = CompiledQuery(
        lambda shape, ids: ApprovalChain.objects.extra(where=[f"id = {ids[0]}"]).values_list("pk")
    )
    unused = CompiledQuery(lambda shape, ids: ApprovalChain.objects.values_list("pk"))
    for query in (in_text, unused):
        with CaptureQueriesContext(connection) as queries, pytest.raises(CompiledQueryError):
            query.rows(None, [first.pk])
        assert len(queries) == 0


def test_the_check_refuses_a_statement_that_depends_on_more_than_its_shape(chains, settings):
    """A build that reads something besides its shape and ids (here a variable, in real
    code a clock or a setting) would run the first call's statement for every later call:
    with the check on (the suite, DEBUG) the first call that differs fails."""
    first, _, _ = chains
    wanted = {"status": StepStatus.OPEN}
    query = CompiledQuery(
        lambda shape, ids: ApprovalStep.objects.filter(
            chain_id__in=ids, status=wanted["status"]
        ).values_list("pk")
    )
    assert len(query.rows(None, [first.pk])) == 2
    wanted["status"] = StepStatus.APPROVED
    with pytest.raises(CompiledQueryError):
        query.rows(None, [first.pk])
    settings.COMPILED_QUERIES_CHECK = False
    # Without the check, the remembered statement runs: what the check is there to catch.
    assert len(query.rows(None, [first.pk])) == 2


def test_the_least_recently_used_shape_is_forgotten_past_the_limit(settings):
    settings.COMPILED_QUERIES_CHECK = False
    people = UserFactory.create_batch(3)
    built = []

    def build(shape, ids):
        built.append(shape)
        return User.objects.filter(pk__in=ids, is_active=shape).values_list("username")

    query = CompiledQuery(build, max_shapes=2)
    for shape in (True, False, True):  # the third is remembered: True is now the latest
        query.rows(shape, [people[0].pk])
    assert built == [True, True, False, False]
    query.rows(None, [people[0].pk])  # a third shape: False, the least recently used, goes
    query.rows(True, [people[1].pk])
    query.rows(False, [people[1].pk])
    assert built == [True, True, False, False, None, None, False, False]
    found = query.rows(True, [p.pk for p in people])
    assert sorted(found) == sorted((p.username,) for p in people)


def test_model_instances_come_with_their_related_objects_and_prefetches(chains, settings):
    settings.COMPILED_QUERIES_CHECK = False
    first, second, _ = chains
    query = CompiledQuery(
        lambda shape, values: (
            ApprovalChain.objects.select_related("requester")
            .prefetch_related("steps")
            .filter(pk=values[0])
        )
    )
    query.objects(None, [first.pk])  # compiled here
    with CaptureQueriesContext(connection) as queries:
        (chain,) = query.objects(None, [second.pk])
        assert chain == second
        assert chain.requester == second.requester
        assert [step.inputs for step in chain.steps.all()] == [{"dpa": True}]
    assert len(queries) == 2  # the chain with its requester, then its steps
    assert query.objects(None, [0]) == []


def test_an_id_beyond_a_bigint_is_refused_before_anything_runs():
    with pytest.raises(ValueError):
        CompiledQuery(steps_of).rows(OPEN, [2**63])


def test_a_value_django_gives_up_on_for_one_set_of_stand_ins_is_refused(chains):
    """A step's position is a positive column: Django drops a statement comparing it with
    a negative number (nothing can match). Were that remembered, every later call would
    find nothing; the second set of stand-ins shows the statement depends on the value."""
    first, _, _ = chains
    query = CompiledQuery(
        lambda shape, values: ApprovalStep.objects.filter(position=values[0]).values_list("pk")
    )
    with pytest.raises(CompiledQueryError):
        query.rows(None, [1])


def test_a_search_text_that_looks_like_a_stand_in_stays_the_search_text(chains):
    """On SQLite a moment is sent as text: a title searched for that reads like one of the
    stand-in moments is still the title, not a slot for the clock."""
    first, second, third = chains
    looks_like_a_moment = "2000-01-01 00:00:00.000001"
    ApprovalChain.objects.filter(pk=first.pk).update(title=looks_like_a_moment)
    query = CompiledQuery(
        lambda title, values: (
            ApprovalChain.objects.filter(title=title, created_at__gt=values[0])
            .order_by("pk")
            .values_list("pk")
        )
    )
    before = datetime(2026, 1, 1, tzinfo=UTC)
    assert query.rows(looks_like_a_moment, [before]) == [(first.pk,)]
    assert query.rows("t", [before]) == [(second.pk,), (third.pk,)]


def test_what_each_reader_takes(chains):
    first, _, _ = chains
    models = CompiledQuery(lambda shape, values: ApprovalChain.objects.filter(pk=values[0]))
    with pytest.raises(CompiledQueryError):
        models.rows(None, [first.pk])  # rows() reads values_list() tuples
    with pytest.raises(CompiledQueryError):
        CompiledQuery(steps_of).objects(OPEN, [first.pk])  # objects() reads instances
    sql, params = CompiledQuery(steps_of).sql(OPEN, [first.pk])
    assert first.pk in params
    with pytest.raises(EmptyResultSet):
        CompiledQuery(steps_of).sql(OPEN, [])
