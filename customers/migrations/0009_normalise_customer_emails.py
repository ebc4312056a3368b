"""Normalise the stored customer e-mail addresses with the one function that stores, searches
and matches them (``customers.emails.normalise_email``).

Two customers whose addresses normalise to the same key both keep it: there is no unique
constraint (a family or a company may share an address), nothing is merged or dropped, and
an import row naming that address is rejected with "belongs to N customers: use the id".
The migration prints how many such keys it found. No history rows are written: the address
is the same address in its comparison form, not a change of the customer's data.
"""

from django.db import migrations

from customers.emails import normalise_email

BATCH = 2000


def normalise_customer_emails(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    changed = []
    seen: dict[str, int] = {}
    for customer in Customer.objects.only("pk", "email").order_by("pk").iterator(BATCH):
        key = normalise_email(customer.email)
        if key:
            seen[key] = seen.get(key, 0) + 1
        if key != customer.email:
            customer.email = key
            changed.append(customer)
        if len(changed) >= BATCH:
            Customer.objects.bulk_update(changed, ["email"])
            changed = []
    if changed:
        Customer.objects.bulk_update(changed, ["email"])
    shared = sum(1 for count in seen.values() if count > 1)
    if shared:
        print(f"\n  {shared} e-mail address(es) are shared by more than one customer; kept.")


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_asset_customer_count")]

    operations = [migrations.RunPython(normalise_customer_emails, migrations.RunPython.noop)]
