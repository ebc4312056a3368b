from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.asset_list, name="asset_list"),
    path("<int:pk>/", views.asset_detail, name="asset_detail"),
    path("<int:pk>/classify/", views.asset_classify, name="asset_classify"),
]
