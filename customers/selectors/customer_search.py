"""The compliance search for a customer by name, e-mail or id."""

from django.db.models import Q, QuerySet

from customers.emails import normalise_email
from customers.models.catalogue import Customer
from customers.visibility import customer_list_for
from portal.input_limits import as_id
from portal.models import User


def customer_search(user: User, q: str = "") -> QuerySet[Customer]:
    """Customers ``user`` may look up (compliance and legal), found by e-mail, name or id.

    A number matches the id exactly or the name/e-mail as text; anything else matches the
    name case-insensitively, or the e-mail as normalised when stored
    (``customers.emails.normalise_email``: ``Ola@BÜCHER.no`` finds ``ola@xn--bcher-kva.no``).
    """
    customers = customer_list_for(user)
    q = (q or "").strip()
    if q:
        condition = Q(name__icontains=q) | Q(email__icontains=normalise_email(q))
        if as_id(q) is not None:
            condition |= Q(pk=as_id(q))
        customers = customers.filter(condition)
    return customers.order_by("name", "id")
