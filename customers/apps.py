from django.apps import AppConfig


class CustomersConfig(AppConfig):
    verbose_name = "Customers and data assets"
    name = "customers"
