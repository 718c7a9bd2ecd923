from django.urls import path

from routing.console import intents, playground, policy_versions, routers, rules_tiers

app_name = "console"

urlpatterns = [
    path("", routers.routers_list, name="routers"),
    path("r/<slug:slug>/", routers.router_detail, name="router"),
    path("r/<slug:slug>/intents/new/", routers.intent_create, name="intent_create"),
    path("r/<slug:slug>/intents/<str:name>/", intents.intent_detail, name="intent"),
    path("r/<slug:slug>/intents/<str:name>/row/", routers.intent_row, name="intent_row"),
    path("r/<slug:slug>/intents/<str:name>/edit/", routers.intent_edit, name="intent_edit"),
    path("r/<slug:slug>/intents/<str:name>/delete/", routers.intent_delete, name="intent_delete"),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/add/",
        intents.intent_example_add,
        name="example_add",
    ),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/bulk/",
        intents.intent_examples_bulk,
        name="examples_bulk",
    ),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/<int:pk>/delete/",
        intents.intent_example_delete,
        name="example_delete",
    ),
    path(
        "r/<slug:slug>/intents/<str:name>/examples/<int:pk>/move/",
        intents.intent_example_move,
        name="example_move",
    ),
    path("r/<slug:slug>/rules/", rules_tiers.rules, name="rules"),
    path("r/<slug:slug>/rules/new/", rules_tiers.rule_create, name="rule_create"),
    path("r/<slug:slug>/rules/<int:pk>/delete/", rules_tiers.rule_delete, name="rule_delete"),
    path("r/<slug:slug>/tiers/", rules_tiers.tiers, name="tiers"),
    path("r/<slug:slug>/tiers/new/", rules_tiers.tier_edit, name="tier_create"),
    path("r/<slug:slug>/tiers/<int:pk>/edit/", rules_tiers.tier_edit, name="tier_edit"),
    path("r/<slug:slug>/tiers/<int:pk>/delete/", rules_tiers.tier_delete, name="tier_delete"),
    path("r/<slug:slug>/tiers/<int:pk>/test/", rules_tiers.tier_test, name="tier_test"),
    path("r/<slug:slug>/policy/", policy_versions.policy, name="policy"),
    path("r/<slug:slug>/versions/", policy_versions.versions, name="versions"),
    path(
        "r/<slug:slug>/versions/<int:number>/rollback/",
        policy_versions.version_rollback,
        name="version_rollback",
    ),
    path("r/<slug:slug>/playground/", playground.playground, name="playground"),
    path(
        "r/<slug:slug>/playground/compare/",
        playground.playground_compare,
        name="playground_compare",
    ),
    path("r/<slug:slug>/playground/batch/", playground.playground_batch, name="playground_batch"),
    path("r/<slug:slug>/playground/run/", playground.playground_run, name="playground_run"),
    path(
        "r/<slug:slug>/playground/correct/",
        playground.playground_correct,
        name="playground_correct",
    ),
]
