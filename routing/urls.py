from django.urls import path

from routing import views

app_name = "console"

urlpatterns = [
    path("", views.routers_list, name="routers"),
    path("r/<slug:slug>/", views.router_detail, name="router"),
    path("r/<slug:slug>/intents/new/", views.intent_create, name="intent_create"),
    path("r/<slug:slug>/intents/<str:name>/", views.intent_detail, name="intent"),
    path("r/<slug:slug>/intents/<str:name>/row/", views.intent_row, name="intent_row"),
    path("r/<slug:slug>/intents/<str:name>/edit/", views.intent_edit, name="intent_edit"),
    path("r/<slug:slug>/intents/<str:name>/delete/", views.intent_delete, name="intent_delete"),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/add/",
        views.intent_example_add,
        name="example_add",
    ),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/bulk/",
        views.intent_examples_bulk,
        name="examples_bulk",
    ),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/<int:pk>/delete/",
        views.intent_example_delete,
        name="example_delete",
    ),
    path("r/<slug:slug>/rules/", views.rules, name="rules"),
    path("r/<slug:slug>/rules/new/", views.rule_create, name="rule_create"),
    path("r/<slug:slug>/rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("r/<slug:slug>/tiers/", views.tiers, name="tiers"),
    path("r/<slug:slug>/tiers/new/", views.tier_edit, name="tier_create"),
    path("r/<slug:slug>/tiers/<int:pk>/edit/", views.tier_edit, name="tier_edit"),
    path("r/<slug:slug>/policy/", views.policy, name="policy"),
    path("r/<slug:slug>/versions/", views.versions, name="versions"),
    path(
        "r/<slug:slug>/versions/<int:number>/rollback/",
        views.version_rollback,
        name="version_rollback",
    ),
    path("r/<slug:slug>/playground/", views.playground, name="playground"),
    path("r/<slug:slug>/playground/compare/", views.playground_compare, name="playground_compare"),
    path("r/<slug:slug>/playground/batch/", views.playground_batch, name="playground_batch"),
    path("r/<slug:slug>/playground/correct/", views.playground_correct, name="playground_correct"),
]
