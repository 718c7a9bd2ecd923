from django.contrib import admin
from django.urls import include, path

from routing import views as routing_views
from semroute_site.api import api

urlpatterns = [
    path("", routing_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
]
