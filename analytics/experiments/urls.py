from django.urls import path

from analytics.experiments import judge_views, views

app_name = "experiments"

# Mounted under r/<slug>/experiments/ by semroute_site/urls.py.
urlpatterns = [
    path("", views.experiments_home, name="home"),
    path("new/", views.experiment_create, name="create"),
    path("<int:pk>/", views.experiment_detail, name="detail"),
    path("<int:pk>/weights/", views.experiment_weights, name="weights"),
    path("<int:pk>/promote/", views.experiment_promote, name="promote"),
    path("<int:pk>/<str:action>/", views.experiment_action, name="action"),
    path("shadow/", judge_views.shadow_start, name="shadow_start"),
    path("shadow/<int:pk>/", judge_views.shadow_detail, name="shadow"),
    path("shadow/<int:pk>/end/", judge_views.shadow_end, name="shadow_end"),
    path("judge/", judge_views.judge_page, name="judge"),
    path("judge/settings/", judge_views.judge_settings_update, name="judge_settings"),
]
