from django.urls import path

from accounts import views

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("aws-accounts/", views.cloud_account_list, name="cloud-account-list"),
    path("aws-accounts/<int:pk>/", views.cloud_account_detail, name="cloud-account-detail"),
    path("aws-accounts/<int:pk>/test/", views.cloud_account_test, name="cloud-account-test"),
]
