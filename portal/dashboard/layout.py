"""The shapes every dashboard section shares: who is looking (``Viewer``), a section and a chart."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext

from customers.models.catalogue import DataAsset
from portal import roles
from portal.audit_actions import AuditAction

LIST_LIMIT = 10


COVERAGE_LIMIT = 10  # (asset, purpose) pairs with the most active grants


EXPIRING_WITHIN_DAYS = 7  # calendar days in the site's zone, as the grants' own expiry


CHART_WEEKS = 8


REFUSED = "refused"  # an access request refused at once for lack of coverage (audit only)


AUDIT_STATUS_ACTIONS = (AuditAction.AUDIT_ANCHOR, AuditAction.AUDIT_VERIFY_FAILED)


@dataclass
class Viewer:
    """Who is looking, with their roles read once."""

    user: object
    now: datetime
    is_compliance: bool
    is_legal: bool
    is_owner: bool

    @classmethod
    def of(cls, user, *, now: datetime | None = None) -> "Viewer":
        return cls(
            user=user,
            now=now or timezone.now(),
            is_compliance=roles.is_compliance(user),
            is_legal=roles.is_legal(user),
            is_owner=DataAsset.objects.filter(owner=user).exists(),
        )

    @property
    def is_approver(self) -> bool:
        return self.is_owner or self.is_compliance or self.is_legal


@dataclass
class Chart:
    """A chart and the table that stands for it (screen readers, no JavaScript).

    ``rows`` are the categories (x axis), ``series`` the stacked values of each row.
    """

    key: str
    title: str
    row_label: str
    rows: list[str]
    series: list[dict]  # {"label": str, "data": [int per row], "color": str}
    stacked: bool = True
    unit: str = ""
    horizontal: bool = False  # bars across: for long row names

    @property
    def table(self) -> list[tuple[str, list[int]]]:
        return [
            (row, [series["data"][index] for series in self.series])
            for index, row in enumerate(self.rows)
        ]

    @property
    def data(self) -> dict:
        """What the chart script reads (``json_script``)."""
        return {
            "labels": self.rows,
            "series": self.series,
            "stacked": self.stacked,
            "unit": self.unit,
            "title": self.title,
            "horizontal": self.horizontal,
        }

    @property
    def is_empty(self) -> bool:
        return not any(any(series["data"]) for series in self.series)


@dataclass
class Section:
    """One card of the dashboard."""

    key: str  # the element id, e.g. "my-requests"
    title: str
    template: str
    context: dict = field(default_factory=dict)
    count: int | None = None  # shown beside the title
    # What the count counts, read after it by screen readers (in the language of the page
    # being built: sections are built per request).
    count_label: str = field(default_factory=lambda: gettext("in total"))
    link: str = ""  # the complete list
    link_text: str = ""
    attention: bool = False  # something here is late or waiting: the card stands out
    wide: bool = False


SectionBuilder = Callable[[Viewer], "Section | None"]  # i18n: not shown (a type annotation)
