import copy

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.config_io import config_validate, router_config_export
from routing.models import Example, Router, RouterVersion
from routing.services.config_apply import router_config_apply


def test_demo_document_is_valid(demo_document):
    assert config_validate(demo_document) == []


def test_every_problem_is_listed_at_once(demo_document):
    document = copy.deepcopy(demo_document)
    document["rules"].append(
        {"kind": "regex", "pattern": "([a-z", "priority": 1, "action": "block", "reason": "x"}
    )
    document["rules"].append(
        {"kind": "keyword", "pattern": "ship", "action": "route", "intent": "teleport"}
    )
    document["tiers"][0]["price_in_per_mtok"] = -0.15
    document["tiers"][1]["quality"] = 1.2
    document["policy"]["fallback_tier"] = "gpt-9"
    document["intents"][0]["examples"].append("   ")
    blank = len(document["intents"][0]["examples"]) - 1

    problems = {
        (p.field, p.message.split(":")[0].split(" (")[0]) for p in config_validate(document)
    }
    bad_regex = f"rules[{len(document['rules']) - 2}]"
    unknown_intent = f"rules[{len(document['rules']) - 1}]"
    fields = {field for field, _ in problems}
    assert {
        f"{bad_regex}.pattern",
        f"{unknown_intent}.intent",
        "tiers[0].price_in_per_mtok",
        "tiers[1].quality",
        "policy.fallback_tier",
        f"intents[0].examples[{blank}]",
    } <= fields
    assert (f"{bad_regex}.pattern", "invalid regular expression") in problems


def test_not_an_object_is_refused():
    assert config_validate(["a"])[0].message == "The configuration must be a JSON object."


@pytest.mark.django_db
def test_export_then_apply_is_a_no_op_and_round_trips(demo_router):
    exported = router_config_export(demo_router)
    result = router_config_apply(document=exported, router=demo_router)
    assert result.applied is False
    assert result.changes == []
    assert router_config_export(Router.objects.get(pk=demo_router.pk)) == exported


@pytest.mark.django_db
def test_dry_run_reports_the_diff_without_applying(demo_router, demo_document):
    demo_document["intents"][0]["examples"].append("why is there a second charge from you")
    demo_document["policy"]["threshold"] = 0.4
    result = router_config_apply(document=demo_document, router=demo_router, dry_run=True)
    assert result.applied is False
    assert "policy.threshold: 0.35 -> 0.4" in result.changes
    assert "intent billing: 1 example(s) added" in result.changes
    assert not Example.objects.filter(text="why is there a second charge from you").exists()


@pytest.mark.django_db
def test_import_keeps_vectors_of_unchanged_examples(demo_router, demo_document):
    kept = Example.objects.get(
        intent__router=demo_router, text=demo_document["intents"][1]["examples"][0]
    )
    vector_before = bytes(kept.vector)
    demo_document["intents"][1]["examples"].append("can I get my money back for the blue kettle")
    result = router_config_apply(document=demo_document, router=demo_router)
    assert result.applied
    kept.refresh_from_db()
    assert kept.pk and bytes(kept.vector) == vector_before


@pytest.mark.django_db
def test_demo_loader_is_idempotent():
    call_command("load_demo")
    router = Router.objects.get(slug="support")
    version, examples = router.version, Example.objects.filter(intent__router=router).count()
    call_command("load_demo")
    router.refresh_from_db()
    assert router.version == version == 1
    assert Example.objects.filter(intent__router=router).count() == examples >= 9 * 12
    assert RouterVersion.objects.filter(router=router).count() == 1
    assert router.intents.count() == 9
    levels = {
        level: router.complexity_examples.filter(level=level).count()
        for level in ("simple", "moderate", "complex")
    }
    assert min(levels.values()) >= 15


@pytest.mark.django_db
def test_a_document_cannot_write_columns_it_does_not_define(demo_router, demo_document):
    # A tier carrying "id"/"router_id" once overwrote another router's tier through the import.
    other = copy.deepcopy(demo_document)
    other["slug"], other["name"] = "other", "Other router"
    victim = demo_router.tiers.order_by("id").first()
    other["tiers"][0].update({"id": victim.pk, "router_id": demo_router.pk, "model": "evil"})
    other["intents"][0]["router_id"] = demo_router.pk
    other["rules"][0]["id"] = 1

    result = router_config_apply(document=other)

    assert not result.applied
    assert {(p.field, p.message.split(";")[0]) for p in result.problems} == {
        ("tiers[0]", "unknown keys ['id', 'router_id']"),
        ("intents[0]", "unknown keys ['router_id']"),
        ("rules[0]", "unknown keys ['id']"),
    }
    victim.refresh_from_db()
    assert victim.router_id == demo_router.pk and victim.model != "evil"
    assert not Router.objects.filter(slug="other").exists()


@pytest.mark.django_db
def test_applying_a_small_change_does_not_touch_every_intent(demo_document):
    # 60 intents: an import that adds one example must not read or write the other 59.
    document = copy.deepcopy(demo_document)
    template = document["intents"][0]
    document["intents"] = [
        {
            **template,
            "name": f"intent_{i:02d}",
            "examples": [f"question {i} number {j}" for j in range(5)],
        }
        for i in range(60)
    ]
    document["rules"] = [r for r in document["rules"] if r["action"] != "route"]
    document["policy"]["fallback_intent"] = None
    router = router_config_apply(document=document).router
    document["intents"][7]["examples"].append("one more question for intent seven")

    with CaptureQueriesContext(connection) as queries:
        result = router_config_apply(document=document, router=router)

    assert result.applied and result.changes == ["intent intent_07: 1 example(s) added"]
    assert len(queries) <= 30, len(queries)  # was 213: every intent read and written
    assert Example.objects.filter(intent__name="intent_07").count() == 6


def test_import_accepts_names_exactly_as_the_models_do(demo_document):
    document = copy.deepcopy(demo_document)
    document["slug"] = "café"
    document["intents"][0]["name"] = "_résumé"
    document["tiers"][0]["api_key_env"] = "1KEY"

    fields = {problem.field for problem in config_validate(document)}

    assert {"slug", "intents[0].name", "tiers[0].api_key_env"} <= fields
    assert config_validate(demo_document) == []
