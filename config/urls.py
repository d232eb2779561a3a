from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.health import healthz

# The moviegoer's pages first: Django tries the patterns in order, and a sale's holds and polls
# are most of the traffic (no two patterns here match the same path, so the order is only speed).
urlpatterns = [
    path("", include("booking.urls")),
    path("", include("checkout.urls")),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the switcher's POST
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("box-office/", include("boxoffice.urls")),
    path("api/", include("api.urls")),
]
