from django.urls import path

from consent import record_views, views

app_name = "consent"

urlpatterns = [
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/consents/", views.customer_consent_record, name="consent_record"),
    path("consents/import/", views.consent_import, name="consent_import"),
    path("purposes/", views.purposes, name="purposes"),
    path("consents/import/jobs/<int:pk>/", views.import_job, name="import_job"),
    path(
        "consents/import/jobs/<int:pk>/errors.csv",
        views.import_job_errors,
        name="import_job_errors",
    ),
    # External sharing
    path("sharing/", views.sharing_list, name="sharing_list"),
    path("sharing/new/", views.sharing_create, name="sharing_create"),
    path("sharing/withdrawals/", views.sharing_withdrawals, name="sharing_withdrawals"),
    path("sharing/deletions/", views.sharing_deletions, name="sharing_deletions"),
    path("sharing/<int:pk>/", views.sharing_detail, name="sharing_detail"),
    path("sharing/<int:pk>/decide/", views.sharing_decide, name="sharing_decide"),
    path("sharing/<int:pk>/withdraw/", views.sharing_withdraw, name="sharing_withdraw"),
    path("sharing/<int:pk>/package/", views.sharing_package, name="sharing_package"),
    path(
        "sharing/<int:pk>/withdrawals/<int:withdrawal_pk>/forwarded/",
        views.sharing_withdrawal_forwarded,
        name="sharing_withdrawal_forwarded",
    ),
    path("sharing/<int:pk>/deletion/", views.sharing_deletion_confirm, name="sharing_deletion"),
    # The record of processing activities (GDPR Art. 30)
    path("records-of-processing/", record_views.record_page, name="record"),
    path("records-of-processing/activities/new/", record_views.activity_edit, name="activity_new"),
    path(
        "records-of-processing/activities/<int:pk>/",
        record_views.activity_edit,
        name="activity_edit",
    ),
    path("records-of-processing/print/", record_views.record_print, name="record_print"),
    path("records-of-processing/export.csv", record_views.record_csv, name="record_csv"),
    path("records-of-processing/export.xlsx", record_views.record_xlsx, name="record_xlsx"),
]
