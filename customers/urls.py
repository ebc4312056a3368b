from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("assets/", views.asset_list, name="asset_list"),
    path("assets/<int:pk>/", views.asset_detail, name="asset_detail"),
    path("assets/<int:pk>/classify/", views.asset_classify, name="asset_classify"),
    path("assets/<int:pk>/owner/", views.asset_owner, name="asset_owner"),
    path("assets/<int:pk>/collected-for/", views.asset_collected_for, name="asset_collected_for"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("approvals/", views.approvals_waiting, name="approvals"),
    path("grants/", views.grant_list, name="grant_list"),
    path("grants/owned/", views.grant_list, {"scope": "owned"}, name="grant_list_owned"),
    path("grants/all/", views.grant_list, {"scope": "all"}, name="grant_list_all"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("grants/<int:pk>/records/", views.grant_records, name="grant_records"),
    path("grants/<int:pk>/export/", views.grant_export, name="grant_export"),
    # Data subject requests and retention
    path("customers/", views.customer_search, name="customer_search"),
    path("customers/<int:pk>/footprint/", views.customer_footprint, name="customer_footprint"),
    path("subject-requests/", views.subject_request_list, name="subject_request_list"),
    path("subject-requests/new/", views.subject_request_create, name="subject_request_create"),
    path("subject-requests/<int:pk>/", views.subject_request_detail, name="subject_request_detail"),
    path(
        "subject-requests/<int:pk>/extend/",
        views.subject_request_extend,
        name="subject_request_extend",
    ),
    path(
        "subject-requests/<int:pk>/close/",
        views.subject_request_close,
        name="subject_request_close",
    ),
    path(
        "subject-requests/<int:pk>/report/",
        views.subject_request_report,
        name="subject_request_report",
    ),
    path("erasure-tasks/", views.erasure_task_list, name="erasure_task_list"),
    path(
        "erasure-tasks/<int:pk>/confirm/", views.erasure_task_confirm, name="erasure_task_confirm"
    ),
    path("retention/", views.retention_list, name="retention_list"),
    path("retention/<int:pk>/extend/", views.retention_extend, name="retention_extend"),
    path("retention/<int:pk>/delete/", views.retention_delete, name="retention_delete"),
]
