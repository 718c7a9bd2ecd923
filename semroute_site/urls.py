from django.contrib import admin
from django.urls import include, path

from semroute_site.api import api

handler500 = "semroute_site.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    path("r/<slug:slug>/evaluations/", include("analytics.evaluations.urls")),
    path("r/<slug:slug>/experiments/", include("analytics.experiments.urls")),
    path("", include("routing.urls")),
]
