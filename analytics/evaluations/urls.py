from django.urls import path

from analytics.evaluations import views

app_name = "evaluations"

# Mounted under r/<slug>/evaluations/ by semroute_site/urls.py.
urlpatterns = [
    path("", views.evaluations_home, name="home"),
    path("sets/upload/", views.set_upload, name="set_upload"),
    path("sets/from-review/", views.set_from_review, name="set_from_review"),
    path("sets/<int:pk>/", views.set_detail, name="set"),
    path("sets/<int:pk>/confirm/", views.set_confirm, name="set_confirm"),
    path("sets/<int:pk>/split/", views.set_split, name="set_split"),
    path("sets/<int:pk>/examples/", views.set_examples_add, name="set_examples_add"),
    path("sets/<int:pk>/run/", views.run_create, name="run_create"),
    path("policy/", views.policy_evaluate, name="policy_evaluate"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/cell/", views.run_cell, name="run_cell"),
    path("runs/<int:pk>/apply/", views.run_apply, name="run_apply"),
    path("compare/", views.runs_compare, name="compare"),
]
