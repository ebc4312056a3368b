from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/consents/", views.customer_consent_record, name="consent_record"),
    path("consents/import/", views.consent_import, name="consent_import"),
]
