from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("assets/", views.asset_list, name="asset_list"),
    path("assets/<int:pk>/", views.asset_detail, name="asset_detail"),
    path("assets/<int:pk>/classify/", views.asset_classify, name="asset_classify"),
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
]
