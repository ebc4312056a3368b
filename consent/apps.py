from django.apps import AppConfig


class ConsentConfig(AppConfig):
    verbose_name = "Purposes and consent"
    name = "consent"
