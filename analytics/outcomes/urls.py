from django.urls import path

from analytics.outcomes import views

app_name = "outcomes"

# Mounted under r/<slug>/outcomes/ by semroute_site/urls.py.
urlpatterns = [
    path("", views.outcomes_home, name="home"),
    path("upload/", views.outcomes_upload, name="upload"),
    path("train/", views.training_create, name="train"),
    path("trainings/<int:pk>/", views.training_detail, name="training"),
    path("head/remove/", views.head_remove, name="head_remove"),
]
