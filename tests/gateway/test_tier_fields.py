"""The tier's gateway fields (context window, tools, connect/total timeouts, retries) in the
configuration document, its bounds, the console's tier form and the engine's snapshot."""

import pytest
from django.test import Client
from django.urls import reverse

from routing.config_io import config_validate, router_config_export
from routing.models import APIKey, ModelTier
from routing.services.config_apply import router_config_apply
from routing.snapshots import compiled_router

pytestmark = pytest.mark.django_db
GATEWAY_FIELDS = {
    "context_window": 128000,
    "supports_tools": False,
    "connect_timeout_seconds": 2.5,
    "timeout_seconds": 45.0,
    "max_retries": 3,
}


def test_gateway_fields_round_trip_through_export_and_import(demo_router, demo_document):
    demo_document["tiers"][0].update(GATEWAY_FIELDS)

    result = router_config_apply(document=demo_document, router=demo_router)

    assert result.applied and "changed tier gpt-4o-mini: " in " ".join(result.changes)
    exported = router_config_export(demo_router)["tiers"][0]
    assert {name: exported[name] for name in GATEWAY_FIELDS} == GATEWAY_FIELDS
    spec = compiled_router(demo_router).snapshot.tiers[0]
    assert (spec.context_window, spec.supports_tools, spec.timeout_seconds) == (128000, False, 45.0)
    assert (spec.connect_timeout_seconds, spec.max_retries) == (2.5, 3)


def test_a_document_without_them_takes_the_defaults(demo_router):
    tier = router_config_export(demo_router)["tiers"][0]

    assert {name: tier[name] for name in GATEWAY_FIELDS} == {
        "context_window": 0,
        "supports_tools": True,
        "connect_timeout_seconds": 5.0,
        "timeout_seconds": 60.0,
        "max_retries": 1,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timeout_seconds", 0.0, "greater than or equal to 0.1"),
        ("timeout_seconds", 601.0, "less than or equal to 600"),
        ("max_retries", 6, "less than or equal to 5"),
        ("context_window", -1, "greater than or equal to 0"),
        ("supports_tools", "yes", "valid boolean"),
    ],
)
def test_out_of_bounds_values_are_refused_by_path(demo_document, field, value, message):
    demo_document["tiers"][1][field] = value

    [problem] = config_validate(demo_document)

    assert problem.field == f"tiers[1].{field}" and message in problem.message


def test_the_console_tier_form_saves_them(operator, demo_router):
    client = Client()  # this folder's `client` fixture is the OpenAI SDK
    client.force_login(operator)
    tier = demo_router.tiers.get(name="gpt-4o")
    fields = {
        "name": tier.name,
        "rank": tier.rank,
        "provider": tier.provider,
        "model": tier.model,
        "base_url": "",
        "api_key_env": tier.api_key_env,
        "price_in_per_mtok": "2.5",
        "price_out_per_mtok": "10",
        "quality": "0.88",
        "latency_ms": "1200",
        "enabled": "on",
        "context_window": "64000",
        "timeout_seconds": "20",
        "connect_timeout_seconds": "",
    }

    response = client.post(
        reverse("console:tier_edit", kwargs={"slug": demo_router.slug, "pk": tier.pk}), fields
    )

    assert response.status_code == 302
    tier.refresh_from_db()
    # Unticked checkbox: no tools; a field left empty keeps its value.
    assert (tier.context_window, tier.timeout_seconds, tier.supports_tools) == (64000, 20.0, False)
    assert tier.connect_timeout_seconds == 5.0


def test_gateway_is_an_api_key_scope(demo_router):
    key = APIKey(name="gw", scopes=["gateway"], prefix="p", key_hash="h")
    key.full_clean()
    assert ModelTier._meta.get_field("context_window").default == 0
