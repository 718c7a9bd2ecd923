"""Every field of the config document is bounded by what its column holds, by one schema: the
import, the console forms and the admin refuse the same values (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import copy
import json
import math

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from routing.config_io import config_validate
from routing.forms import IntentForm, PolicyForm, RuleForm, TierForm
from routing.models import Example, Intent, ModelTier, Router, RouterVersion
from routing.services.examples import example_add
from tests.api.conftest import error_of

NAN, INF = math.nan, math.inf


def _set(path: str, value):
    """A mutation of the demo document setting `path` ("tiers[0].rank", "policy.top_k") to value."""

    def mutate(document: dict) -> None:
        target, parts = document, path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _append_example(text: str):
    def mutate(document: dict) -> None:
        document["intents"][3]["examples"].append(text)

    return mutate


# (mutation, the field the problem names)
BAD_VALUES = [
    (_set("tiers[0].quality", NAN), "tiers[0].quality"),
    (_set("tiers[0].quality", INF), "tiers[0].quality"),
    (_set("intents[0].threshold", NAN), "intents[0].threshold"),
    (_set("intents[0].threshold", -INF), "intents[0].threshold"),
    (_set("policy.threshold", NAN), "policy.threshold"),
    (_set("tiers[0].price_in_per_mtok", INF), "tiers[0].price_in_per_mtok"),
    (_set("tiers[0].price_in_per_mtok", NAN), "tiers[0].price_in_per_mtok"),
    (_set("tiers[1].price_out_per_mtok", 1e12), "tiers[1].price_out_per_mtok"),
    (_set("tiers[0].rank", 2**40), "tiers[0].rank"),
    (_set("tiers[0].latency_ms", 2**40), "tiers[0].latency_ms"),
    (_set("policy.cache_ttl_seconds", 2**40), "policy.cache_ttl_seconds"),
    (_set("policy.latency_budget_ms", 2**63), "policy.latency_budget_ms"),
    (_set("rules[0].priority", 2**63), "rules[0].priority"),
    (_set("rules[0].priority", -(2**63)), "rules[0].priority"),
    (_set("policy.top_k", 101), "policy.top_k"),
    (_set("policy.min_quality_complex", 1.5), "policy.min_quality_complex"),
    (_set("policy.output_tokens_simple", 2**40), "policy.output_tokens_simple"),
    (_set("tiers[0].rank", 1.5), "tiers[0].rank"),
    (_set("tiers[0].enabled", 1), "tiers[0].enabled"),
    (_set("tiers[0].quality", "0.5"), "tiers[0].quality"),
    (_append_example("refund\x00please"), "intents[3].examples[{last}]"),
    (_append_example("lone \ud800 surrogate"), "intents[3].examples[{last}]"),
    (_append_example("x" * 2001), "intents[3].examples[{last}]"),
    (_set("intents[0].description", "a\x00b"), "intents[0].description"),
    (_set("intents[0].handler", "\udc00"), "intents[0].handler"),
    (_set("name", "Support\x00"), "name"),
    (_set("description", "\ud800"), "description"),
    (_set("tiers[0].model", "gpt\x00"), "tiers[0].model"),
    (_set("rules[0].pattern", "refund\x00"), "rules[0].pattern"),
    (_set("rules[0].reason", "\ud800"), "rules[0].reason"),
    (_set("tiers[0].base_url", "not a url"), "tiers[0].base_url"),
    (_set("tiers[0].base_url", "file:///etc/passwd"), "tiers[0].base_url"),
    (_set("tiers[0].api_key_env", "SECRET_KEY"), "tiers[0].api_key_env"),
    (_set("intents[0].name", "new"), "intents[0].name"),
    (_set("intents[0].name", "has space"), "intents[0].name"),
    (_set("complexity_examples.simple", ["ok", "\x00"]), "complexity_examples.simple[1]"),
]
IDS = [f"{field}={i}" for i, (_, field) in enumerate(BAD_VALUES)]


def _broken(demo_document: dict, mutate) -> tuple[dict, str]:
    document = copy.deepcopy(demo_document)
    mutate(document)
    return document, len(document["intents"][3]["examples"]) - 1


@pytest.mark.parametrize(("mutate", "field"), BAD_VALUES, ids=IDS)
def test_schema_names_the_field(demo_document, mutate, field):
    document, last = _broken(demo_document, mutate)
    fields = [problem.field for problem in config_validate(document)]
    assert field.format(last=last) in fields, fields


@pytest.mark.django_db
@pytest.mark.parametrize(("mutate", "field"), BAD_VALUES, ids=IDS)
def test_api_import_is_a_422_naming_the_field_and_changes_nothing(
    api, demo_router, demo_document, mutate, field
):
    document, last = _broken(demo_document, mutate)
    before = (demo_router.version, Example.objects.count(), RouterVersion.objects.count())
    # json.dumps writes NaN/Infinity literals and \ud800 escapes: what a probe sends.
    response = api.put(f"routers/{demo_router.slug}/config", raw=json.dumps(document))
    assert response.status_code == 422, response.content[:500]
    problems = error_of(response)["details"]["problems"]
    assert field.format(last=last) in [problem["field"] for problem in problems]
    demo_router.refresh_from_db()
    assert (demo_router.version, Example.objects.count(), RouterVersion.objects.count()) == before


@pytest.mark.django_db
def test_a_new_router_with_a_bad_value_is_not_created(api, demo_document):
    document, _ = _broken({**demo_document, "slug": "fresh"}, _set("tiers[0].rank", 2**40))
    response = api.put("routers/fresh/config", raw=json.dumps(document))
    assert response.status_code == 422
    assert not Router.objects.filter(slug="fresh").exists()


# The console forms are built from the model fields: the same bounds, the same refusals.
def _tier_data(tier: ModelTier, **changes) -> dict:
    data = {
        "name": tier.name,
        "rank": tier.rank,
        "provider": tier.provider,
        "model": tier.model,
        "base_url": tier.base_url,
        "api_key_env": tier.api_key_env,
        "price_in_per_mtok": tier.price_in_per_mtok,
        "price_out_per_mtok": tier.price_out_per_mtok,
        "quality": tier.quality,
        "latency_ms": tier.latency_ms,
        "enabled": "on",
    }
    return {**data, **changes}


TIER_FORM_CASES = [
    ({"rank": 2**40}, "rank"),
    ({"latency_ms": 2**40}, "latency_ms"),
    ({"price_in_per_mtok": "1e12"}, "price_in_per_mtok"),
    ({"price_out_per_mtok": "NaN"}, "price_out_per_mtok"),
    ({"quality": "Infinity"}, "quality"),
    ({"base_url": "not a url"}, "base_url"),
    ({"api_key_env": "DATABASE_URL"}, "api_key_env"),
    ({"model": "gpt\x00"}, "model"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "field"), TIER_FORM_CASES, ids=[f for _, f in TIER_FORM_CASES])
def test_console_tier_form_refuses_what_the_import_refuses(demo_router, changes, field):
    tier = demo_router.tiers.order_by("rank").first()
    form = TierForm(_tier_data(tier, **changes), instance=tier, router=demo_router)
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [({"threshold": "NaN"}, "threshold"), ({"handler": "a\x00"}, "handler")],
)
def test_console_intent_form_refuses_nan_and_nul(demo_router, changes, field):
    intent = Intent.objects.get(router=demo_router, name="billing")
    data = {"name": "billing", "handler": intent.handler, "enabled": "on", **changes}
    form = IntentForm(data, instance=intent, router=demo_router)
    assert not form.is_valid() and field in form.errors


@pytest.mark.django_db
def test_console_rule_form_refuses_an_out_of_range_priority(demo_router):
    data = {"kind": "keyword", "pattern": "x", "priority": 2**63, "action": "block", "reason": "r"}
    form = RuleForm(data, router=demo_router)
    assert not form.is_valid() and "priority" in form.errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"threshold": "NaN"}, "threshold"),
        ({"cache_ttl_seconds": 2**40}, "cache_ttl_seconds"),
        ({"latency_budget_ms": 2**63}, "latency_budget_ms"),
        ({"top_k": 101}, "top_k"),
        ({"ambiguity_low": 0.6, "ambiguity_high": 0.5}, "ambiguity_high"),
        ({"min_quality_moderate": 2}, "min_quality_moderate"),
    ],
)
def test_console_policy_form_refuses_what_the_import_refuses(demo_router, changes, field):
    saved = {name: getattr(demo_router, name) for name in changes}
    form = PolicyForm(changes, router=demo_router)
    assert not form.is_valid() and field in form.errors
    assert {name: getattr(demo_router, name) for name in changes} == saved  # validated on a copy


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["x" * 2001, "refund\x00please", "lone \ud800"])
def test_example_add_refuses_what_the_import_refuses(demo_router, text):
    billing = Intent.objects.get(router=demo_router, name="billing")
    count, version = billing.examples.count(), demo_router.version
    with pytest.raises(ValidationError):
        example_add(intent=billing, text=text)
    demo_router.refresh_from_db()
    assert (billing.examples.count(), demo_router.version) == (count, version)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rank": 2**40}, "rank"),
        ({"quality": "NaN"}, "quality"),
        ({"base_url": "not a url"}, "base_url"),
        ({"api_key_env": "SECRET_KEY"}, "api_key_env"),
    ],
)
def test_admin_tier_form_refuses_what_the_import_refuses(
    client, superuser, demo_router, changes, field
):
    client.force_login(superuser)
    tier = demo_router.tiers.order_by("rank").first()
    data = {**_tier_data(tier, **changes), "router": demo_router.pk}
    response = client.post(reverse("admin:routing_modeltier_change", args=[tier.pk]), data)
    assert response.status_code == 200  # the form again, with the error
    assert field in response.context["adminform"].form.errors
    demo_router.refresh_from_db()
    tier.refresh_from_db()
    assert str(getattr(tier, field)) != str(changes[field])


@pytest.mark.django_db
def test_admin_refuses_an_overlong_example(client, superuser, demo_router):
    client.force_login(superuser)
    billing = Intent.objects.get(router=demo_router, name="billing")
    response = client.post(
        reverse("admin:routing_example_add"),
        {"intent": billing.pk, "text": "y" * 2001, "source": "manual"},
    )
    assert response.status_code == 200
    assert "text" in response.context["adminform"].form.errors
    assert not Example.objects.filter(text="y" * 2001).exists()


SERVICE_CASES = [
    ("tier", {"quality": NAN}, "quality"),
    ("tier", {"price_in_per_mtok": INF}, "price_in_per_mtok"),
    ("tier", {"rank": 2**40}, "rank"),
    ("tier", {"latency_ms": 2**40}, "latency_ms"),
    ("tier", {"base_url": "not a url"}, "base_url"),
    ("intent", {"threshold": NAN}, "threshold"),
    ("intent", {"description": "a\x00b"}, "description"),
    ("rule", {"priority": 2**63}, "priority"),
    ("rule", {"reason": "\ud800"}, "reason"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "changes", "field"), SERVICE_CASES, ids=[c[2] for c in SERVICE_CASES]
)
def test_services_refuse_what_the_import_refuses(demo_router, kind, changes, field):
    from routing.models import Rule
    from routing.services.versioning import config_object_save

    obj = {
        "tier": lambda: demo_router.tiers.order_by("rank").first(),
        "intent": lambda: Intent.objects.get(router=demo_router, name="billing"),
        "rule": lambda: Rule.objects.filter(router=demo_router).first(),
    }[kind]()
    for name, value in changes.items():
        setattr(obj, name, value)
    version = demo_router.version
    with pytest.raises(ValidationError) as excinfo:
        config_object_save(obj=obj)
    assert field in excinfo.value.message_dict
    demo_router.refresh_from_db()
    assert demo_router.version == version


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [{"threshold": NAN}, {"similarity_floor": INF}, {"cache_ttl_seconds": 2**40}, {"top_k": 0}],
)
def test_policy_service_refuses_what_the_import_refuses(demo_router, changes):
    from routing.services.versioning import router_policy_update

    with pytest.raises(ValidationError) as excinfo:
        router_policy_update(router=demo_router, changes=changes)
    assert set(changes) <= set(excinfo.value.message_dict)
    assert Router.objects.get(pk=demo_router.pk).version == demo_router.version
