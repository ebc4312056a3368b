from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("report/", views.report, name="report"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/triage/", views.triage, name="triage"),
    path("<int:pk>/notes/", views.note, name="note"),
    path("<int:pk>/regimes/", views.regime_apply, name="regime_apply"),
    path("<int:pk>/duties/<int:duty_pk>/record/", views.duty_record, name="duty_record"),
    path("<int:pk>/awareness/", views.awareness, name="awareness"),
    path("<int:pk>/no-risk/propose/", views.no_risk_propose, name="no_risk_propose"),
    path("<int:pk>/no-risk/confirm/", views.no_risk_confirm, name="no_risk_confirm"),
    path("<int:pk>/customer-notice/", views.customer_notice, name="customer_notice"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss_view, name="alert_dismiss"),
    path("alerts/<int:pk>/incident/", views.alert_incident_view, name="alert_incident"),
]
