from django.urls import path

from analytics.dashboards import views

app_name = "dashboards"

# Mounted at the site root by semroute_site/urls.py: across routers and per router.
urlpatterns = [
    path("dashboards/", views.dashboard, name="all"),
    path("dashboards/alerts/", views.alerts_page, name="all_alerts"),
    path("dashboards/<str:section>/", views.dashboard, name="all_section"),
    path("dashboards/<str:section>/csv/<str:key>/", views.dashboard_csv, name="all_csv"),
    path("r/<slug:slug>/dashboard/", views.dashboard, name="router"),
    path("r/<slug:slug>/dashboard/alerts/", views.alerts_page, name="router_alerts"),
    path("r/<slug:slug>/dashboard/<str:section>/", views.dashboard, name="router_section"),
    path(
        "r/<slug:slug>/dashboard/<str:section>/csv/<str:key>/",
        views.dashboard_csv,
        name="router_csv",
    ),
]
