from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from annotation.media import URL_PREFIX, serve_media
from relabel import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    re_path(rf"^{URL_PREFIX}(?P<path>.+)$", serve_media, name="media"),
    path("accounts/login/", views.RoleLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("annotation.urls")),
    path("", include("tasks.urls")),
    path("", include("analytics.urls")),
]
