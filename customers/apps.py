from django.apps import AppConfig


class CustomersConfig(AppConfig):
    verbose_name = "Customers and data assets"
    name = "customers"

    def ready(self):
        from customers.models.access import ACCESS_CHAIN_KIND
        from customers.selectors.access import access_requests_on_chains
        from portal.approvals import register_request_kind

        # Access requests appear in the one approvals list of the engine (portal.approvals).
        register_request_kind(ACCESS_CHAIN_KIND, requests=access_requests_on_chains)
