from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    verbose_name = _("Purposes and consent")
    name = "consent"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save

        # Registered in every process: import jobs queue their task by name; the taxonomy
        # names forget their map when the taxonomy text is saved (its signals).
        from consent import tasks, taxonomy_names  # noqa: F401
        from consent.coverage_cache import coverage_changed
        from consent.models import SHARING_CHAIN_KIND, Purpose
        from consent.sharing_selectors import sharing_requests_for_approvers
        from customers.models.catalogue import DataAsset
        from portal.approvals import register_request_kind

        # Sharing requests appear in the one approvals list of the engine (portal.approvals).
        register_request_kind(
            SHARING_CHAIN_KIND,
            requests=lambda chain_ids: sharing_requests_for_approvers().filter(
                chain_id__in=chain_ids
            ),
        )

        # Edits through the ORM (the admin, load_taxonomy) that change who is eligible: a
        # purpose's lawful basis or place in the tree, what an asset was collected for.
        # The services' bulk writes call coverage_changed themselves.
        def changed(**kwargs):
            coverage_changed()

        # weak=False: ``changed`` is local to this method.
        post_save.connect(changed, sender=Purpose, weak=False, dispatch_uid="coverage_purpose")
        post_delete.connect(
            changed, sender=Purpose, weak=False, dispatch_uid="coverage_purpose_deleted"
        )
        m2m_changed.connect(
            changed,
            sender=DataAsset.collected_for.through,
            weak=False,
            dispatch_uid="coverage_collected_for",
        )
