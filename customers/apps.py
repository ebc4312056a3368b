from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    verbose_name = _("Customers and data assets")
    name = "customers"

    def ready(self):
        from customers.models.access import ACCESS_CHAIN_KIND
        from customers.selectors.access import access_requests_on_chains
        from customers.services.leavers import leaver_grants_end, mover_grants_flag
        from portal.approvals import register_request_kind
        from portal.identity.leavers import register_leaver_step, register_mover_step

        # Access requests appear in the one approvals list of the engine (portal.approvals).
        register_request_kind(ACCESS_CHAIN_KIND, requests=access_requests_on_chains)
        # A leaver's grants end with their account; a mover's go to their owners to re-confirm.
        register_leaver_step("customers.grants", leaver_grants_end)
        register_mover_step("customers.grants", mover_grants_flag)
