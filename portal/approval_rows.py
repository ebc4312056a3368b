"""Approval chains' steps as the request lists show them (pages and API): plain rows read
as values, one query for the steps of a whole page, no model instance built to print a few
fields. Every kind of request (access, sharing) shows its steps through them."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from portal.compiled_queries import CompiledQuery
from portal.languages import choice_label
from portal.models import ApprovalRole, ApprovalStep, StepStatus, person_name


@dataclass(frozen=True)
class PersonRow:
    """A person as a list names them, from a user's values: ``str()`` is their name as
    every page gives it (``person_name``), ``get_full_name()`` as Django's user has it."""

    username: str
    first_name: str
    last_name: str

    def __str__(self) -> str:
        return person_name(self.first_name, self.last_name, self.username)

    def get_full_name(self) -> str:
        return person_name(self.first_name, self.last_name, "")


def person_row(username: str | None, first_name: str, last_name: str) -> PersonRow | None:
    """A ``PersonRow`` from a user's values; ``None`` when there is no user (no username)."""
    if username is None:
        return None
    return PersonRow(username, first_name, last_name)


def person_fields(relation: str) -> tuple[str, str, str]:
    """The values a ``PersonRow`` is read from, through ``relation`` (a foreign key to a
    user, ``"requester"``), for ``.values()``: username, first and last name."""
    return (f"{relation}__username", f"{relation}__first_name", f"{relation}__last_name")


def person_from(values: dict[str, Any], relation: str) -> PersonRow | None:
    """The person ``relation`` names in a row read with ``person_fields(relation)``;
    ``None`` for an empty foreign key (``person_row``)."""
    return person_row(*(values[name] for name in person_fields(relation)))


def someone_from(values: dict[str, Any], relation: str) -> PersonRow:
    """``person_from`` for a foreign key that is never empty (a requester, an owner)."""
    person = person_from(values, relation)
    if person is None:
        raise ValueError(f"{relation} is empty in a row that always names one")
    return person


@dataclass(frozen=True)
class StepRow:
    """A step of a chain as the request lists show it (pages and API), from plain values."""

    position: int
    role: str
    status: str
    replaces_owner: bool
    approver: PersonRow | None
    decided_by: PersonRow | None
    decided_at: datetime | None
    reason: str
    requirement: str
    inputs: dict

    def get_status_display(self) -> str:
        return choice_label(StepStatus, self.status)

    def get_role_display(self) -> str:
        return choice_label(ApprovalRole, self.role)


class StepRows(tuple[StepRow, ...]):
    """A chain's steps in order. ``all()`` returns them, as a prefetched manager's does, so
    a template or serializer reads ``chain.steps.all`` from a row as from a model."""

    def all(self) -> "StepRows":
        return self


def steps_by_chain(chain_ids: Iterable[int]) -> dict[int, StepRows]:
    """The steps of each chain, in order, read as plain values in one query (compiled once
    per number of chains, ``CompiledQuery``)."""
    values = _CHAIN_STEPS.rows(None, sorted(set(chain_ids)))
    steps: dict[int, list[StepRow]] = {}
    for chain_id, position, role, status, replaces, *people, at, reason, need, inputs in values:
        steps.setdefault(chain_id, []).append(
            StepRow(
                position=position,
                role=role,
                status=status,
                replaces_owner=replaces,
                approver=person_row(*people[:3]),
                decided_by=person_row(*people[3:]),
                decided_at=at,
                reason=reason,
                requirement=need,
                inputs=inputs,
            )
        )
    return {chain_id: StepRows(rows) for chain_id, rows in steps.items()}


def _chain_steps(shape: object, chain_ids: tuple[Any, ...]) -> QuerySet[ApprovalStep, Any]:
    return (
        ApprovalStep.objects.filter(chain_id__in=chain_ids)
        .order_by("chain_id", "position")
        .values_list(
            "chain_id",
            "position",
            "role",
            "status",
            "replaces_owner",
            "approver__username",
            "approver__first_name",
            "approver__last_name",
            "decided_by__username",
            "decided_by__first_name",
            "decided_by__last_name",
            "decided_at",
            "reason",
            "requirement",
            "inputs",
        )
    )


_CHAIN_STEPS = CompiledQuery(_chain_steps)
