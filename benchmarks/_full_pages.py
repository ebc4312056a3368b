"""Lists filled to a full page, through the services, for ``benchmarks/queries.py``.

A list writes at most a page of rows whatever the data, and what ``queries.py`` judges is
growth with the data: a page that shows two rows at demo size and 25 at scale measures
how full it is as much as the data's size. So the lists the demo shows shorter than scale
only because it is small are filled to a full page at both sizes, by people measured in
no role there (or by the employee, for their own grants), through the same services as
in use, so that every row is one the portal could hold. Each function does nothing when
the list is already full (the scale database mostly is), and returns the rows it holds.
"""

# The catalogue search's word: assets holding it are registered at demo size until the
# search fills a page (``ensure_full_catalogue_search``).
CATALOGUE_WORD = "customers"


def approved(request, *, requester) -> None:
    """Every step of ``request`` approved in turn, through the service, each by the first
    of its deciders who is not ``requester``: an active grant."""
    from customers.services.access import access_request_decide
    from portal.approvals import deciders_for

    for step in request.chain.steps.order_by("position"):
        step.refresh_from_db()
        access_request_decide(
            access_request=request,
            actor=deciders_for(step).exclude(pk=requester.pk).first(),
            approve=True,
            reason="Approved for the query-count benchmark.",
        )


def ensure_export_grant() -> None:
    """The demo holds view grants only: give its grant holder an export grant on the same
    asset and purpose, through the services and every approval step, so the export page is
    measured at both sizes. Nothing happens when an active export grant exists."""
    from django.utils import timezone

    from customers.models.access import AccessGrant
    from customers.services.access import access_request_create

    active = AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    if active.filter(level="export").exists():
        return
    grant = active.select_related("user", "asset", "purpose").order_by("pk").first()
    request = access_request_create(
        actor=grant.user,
        asset=grant.asset,
        purpose=grant.purpose,
        justification="Query-count benchmark: the export page measured at demo size.",
        level="export",
        duration_days=30,
    )
    approved(request, requester=grant.user)


def requested(requester, asset, purpose, *, why: str):
    """A new access request of ``requester`` for ``asset`` and ``purpose``, through the
    service; ``None`` when they have one pending already or none of the asset's
    customers is eligible (the service would refuse it, and audit the refusal)."""
    from consent.selectors import coverage_for
    from customers.models.access import AccessRequest
    from customers.services.access import access_request_create

    pending = AccessRequest.objects.filter(
        requester=requester, asset=asset, purpose=purpose, chain__status="pending"
    )
    if pending.exists() or coverage_for(asset, purpose).eligible == 0:
        return None
    return access_request_create(
        actor=requester,
        asset=asset,
        purpose=purpose,
        justification=f"Query-count benchmark: {why} at both sizes.",
    )


def ensure_full_grant_page(c: dict) -> int:
    """The employee's own view requests, each approved at every step, until they hold a
    full page of active grants (``PAGE_SIZE``; the demo's employee holds two, the scale
    one 19): their grants, their requests, the all-grants search for their name and the
    compliance officer's list of every grant then show a page each at both sizes. On the
    assets other than restricted ones, for purposes with eligible customers (nothing is
    refused). Returns how many active grants they hold."""
    from itertools import product

    from django.utils import timezone

    from consent.models import Purpose
    from customers.models.access import AccessGrant
    from customers.models.catalogue import DataAsset
    from customers.views.assets import PAGE_SIZE

    employee = c["employee"]
    held = AccessGrant.objects.filter(
        user=employee, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    assets = DataAsset.objects.exclude(classification="restricted").order_by("pk")
    purposes = Purpose.objects.filter(active=True).order_by("key")
    for asset, purpose in product(assets, purposes):
        if held.count() >= PAGE_SIZE:
            break
        if held.filter(asset=asset, purpose=purpose).exists():
            continue
        request = requested(employee, asset, purpose, why="a full page of grants")
        if request is not None:
            approved(request, requester=employee)
    return held.count()


def ensure_full_page_waiting(c: dict, decider: str, assets, *, after_owner: bool) -> int:
    """Requests waiting for ``c[decider]`` until their approvals page holds a full page
    (``PAGE_SIZE``), as it does at scale for the compliance officer: a page writes at most
    a page of rows whatever the data, and what this benchmark looks for is growth with the
    data. The requests are by people measured in no role here, on ``assets`` (a queryset),
    for purposes with eligible customers (nothing is refused, so no refusal is audited),
    all through the services. ``after_owner``: each owner step is approved by the asset's
    owner (for a decider who comes after the owner; the demo's owners include the one
    measured here, whose page leaves those requests out, as it would in use). Nothing
    happens when a full page already waits. Returns how many requests wait for the decider,
    printed with the results."""
    from itertools import product

    from consent.models import Purpose
    from customers.services.access import access_request_decide
    from customers.views.assets import PAGE_SIZE
    from portal.approvals import approvals_waiting_for, deciders_for
    from portal.models import User

    measured = [c[role].pk for role in ("employee", "owner", "compliance", "admin")]
    requesters = User.objects.filter(is_active=True).exclude(pk__in=measured).order_by("pk")
    purposes = Purpose.objects.filter(active=True).order_by("key")
    for requester, asset, purpose in product(requesters, assets.order_by("pk"), purposes):
        waiting = len(approvals_waiting_for(c[decider]))
        if waiting >= PAGE_SIZE:
            return waiting
        request = requested(requester, asset, purpose, why="a full page of approvals")
        if request is None:
            continue
        owner_step = request.chain.open_step
        if after_owner and owner_step.role == "owner":
            access_request_decide(
                access_request=request,
                actor=deciders_for(owner_step).first(),
                approve=True,
                reason="Approved for the query-count benchmark.",
            )
    return len(approvals_waiting_for(c[decider]))


def ensure_full_incident_page(c: dict) -> int:
    """Reports filed (through the service, by people measured in no role here, about the
    largest asset) until the incidents API's first page is full, as it is at scale.
    Returns how many incidents there are."""
    from django.conf import settings

    from incidents.models import Incident
    from incidents.services.reports import incident_report
    from portal.models import User

    measured = [c[role].pk for role in ("employee", "owner", "compliance", "admin")]
    reporters = list(User.objects.filter(is_active=True).exclude(pk__in=measured))
    missing = settings.REST_FRAMEWORK["PAGE_SIZE"] - Incident.objects.count()
    for number in range(missing):
        incident_report(
            actor=reporters[number % len(reporters)],
            title=f"Query-count benchmark report {number + 1}",
            description="A report filed so that the incident lists hold a full page.",
            assets=[c["asset"]],
        )
    return Incident.objects.count()


def ensure_full_catalogue_search(c: dict) -> int:
    """Assets whose names hold the searched word (``CATALOGUE_WORD``), registered through
    the service by the largest asset's owner with its categories and purposes, until the
    catalogue search shows a full page, as it does at scale. Returns how many match."""
    from customers.models.catalogue import DataAsset
    from customers.services.assets import asset_create
    from customers.views.assets import PAGE_SIZE

    model = c["asset"]
    matching = DataAsset.objects.filter(name__icontains=CATALOGUE_WORD)
    for number in range(PAGE_SIZE - matching.count()):
        asset_create(
            actor=model.owner,
            name=f"Benchmark {CATALOGUE_WORD} {number + 1:02}",
            owner=model.owner,
            description=model.description,
            data_categories=model.data_categories.all(),
            collected_for=model.collected_for.all(),
        )
    return matching.count()


def ensure_full_pages(c: dict) -> dict[str, int]:
    """Every judged list that the demo shows shorter than scale because of its size, filled
    to a full page at both sizes (the scale database mostly holds one already): the
    approvals waiting for the officer and for the owner, the employee's grants (and with
    them their requests and the list of every grant), the incidents, the catalogue search.
    Returns the rows each holds, printed with the results."""
    from customers.models.catalogue import DataAsset

    assets = DataAsset.objects.exclude(classification="restricted")
    return {
        "requests waiting for the compliance officer": ensure_full_page_waiting(
            c, "compliance", assets.filter(classification="confidential"), after_owner=True
        ),
        "requests waiting for the owner": ensure_full_page_waiting(
            c, "owner", assets.filter(owner=c["owner"]), after_owner=False
        ),
        "active grants of the employee": ensure_full_grant_page(c),
        "incidents": ensure_full_incident_page(c),
        f"assets named {CATALOGUE_WORD!r}": ensure_full_catalogue_search(c),
    }
