from django.contrib import admin
from django.urls import include, path

from analytics.metrics import metrics_view
from semroute_site.api import api

handler500 = "semroute_site.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    path("r/<slug:slug>/evaluations/", include("analytics.evaluations.urls")),
    path("r/<slug:slug>/", include("analytics.review.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("analytics.dashboards.urls")),
    path("r/<slug:slug>/outcomes/", include("analytics.outcomes.urls")),
    path("r/<slug:slug>/experiments/", include("analytics.experiments.urls")),
    path("", include("routing.urls")),
]
