from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Compliance portal")

    def ready(self):
        # checks register themselves; tasks: registered in every process, so the outbox
        # queues delivery by task name (portal.notifications.queue_delivery).
        from portal import checks, languages, signals, tasks  # noqa: F401

        signals.connect()
        # Texts are looked up hundreds of times a page: one dictionary each, not a chain.
        languages.flatten_translations()
