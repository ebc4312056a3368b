from django.urls import path

from customers.views import access, access_reviews, assets, grants, retention, subject_requests

app_name = "customers"

urlpatterns = [
    path("assets/", assets.asset_list, name="asset_list"),
    path("assets/<int:pk>/", assets.asset_detail, name="asset_detail"),
    path("assets/<int:pk>/classify/", assets.asset_classify, name="asset_classify"),
    path("assets/<int:pk>/owner/", assets.asset_owner, name="asset_owner"),
    path("assets/<int:pk>/collected-for/", assets.asset_collected_for, name="asset_collected_for"),
    path("requests/", access.request_list, name="request_list"),
    path("requests/new/", access.request_create, name="request_create"),
    path("requests/<int:pk>/", access.request_detail, name="request_detail"),
    path("requests/<int:pk>/decide/", access.request_decide, name="request_decide"),
    path("requests/<int:pk>/withdraw/", access.request_withdraw, name="request_withdraw"),
    path("approvals/", access.approvals_waiting, name="approvals"),
    path("grants/", grants.grant_list, name="grant_list"),
    path("grants/owned/", grants.grant_list, {"scope": "owned"}, name="grant_list_owned"),
    path("grants/all/", grants.grant_list, {"scope": "all"}, name="grant_list_all"),
    path("grants/<int:pk>/revoke/", grants.grant_revoke, name="grant_revoke"),
    path("grants/<int:pk>/records/", grants.grant_records, name="grant_records"),
    path("grants/<int:pk>/export/", grants.grant_export, name="grant_export"),
    # Access reviews
    path("reviews/", access_reviews.review_list, name="review_list"),
    path("reviews/<int:pk>/", access_reviews.review_detail, name="review_detail"),
    path("reviews/<int:pk>/accept/", access_reviews.review_accept, name="review_accept"),
    path("reviews/<int:pk>/report/", access_reviews.review_report, name="review_report"),
    path(
        "review-items/<int:pk>/decide/",
        access_reviews.review_item_decide,
        name="review_item_decide",
    ),
    # Data subject requests and retention
    path("customers/", subject_requests.customer_search, name="customer_search"),
    path(
        "customers/<int:pk>/footprint/",
        subject_requests.customer_footprint,
        name="customer_footprint",
    ),
    path("subject-requests/", subject_requests.subject_request_list, name="subject_request_list"),
    path(
        "subject-requests/new/",
        subject_requests.subject_request_create,
        name="subject_request_create",
    ),
    path(
        "subject-requests/<int:pk>/",
        subject_requests.subject_request_detail,
        name="subject_request_detail",
    ),
    path(
        "subject-requests/<int:pk>/extend/",
        subject_requests.subject_request_extend,
        name="subject_request_extend",
    ),
    path(
        "subject-requests/<int:pk>/close/",
        subject_requests.subject_request_close,
        name="subject_request_close",
    ),
    path(
        "subject-requests/<int:pk>/report/",
        subject_requests.subject_request_report,
        name="subject_request_report",
    ),
    path("erasure-tasks/", subject_requests.erasure_task_list, name="erasure_task_list"),
    path(
        "erasure-tasks/<int:pk>/confirm/",
        subject_requests.erasure_task_confirm,
        name="erasure_task_confirm",
    ),
    path("retention/", retention.retention_list, name="retention_list"),
    path("retention/<int:pk>/extend/", retention.retention_extend, name="retention_extend"),
    path("retention/<int:pk>/delete/", retention.retention_delete, name="retention_delete"),
]
