from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Compliance portal"

    def ready(self):
        from portal import checks, signals  # noqa: F401 (checks register themselves)

        signals.connect()
