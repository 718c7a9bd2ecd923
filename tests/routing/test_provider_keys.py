"""A tier's key comes only from allow-listed environment variables, never the server's own."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from routing.config_io import config_validate
from routing.forms import TierForm
from routing.provider_keys import key_variable_allowed, provider_key

SERVER_SECRETS = [
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SEMROUTE_ADMIN_PASSWORD",
    "SEMROUTE_ENCODER",  # read by settings.py
    "ALLOWED_HOSTS",  # a Django setting
    "PATH",
    "HOME",
]


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("OPENAI_API_KEY", True),
        ("ANTHROPIC_API_KEY", True),
        ("SEMROUTE_KEY_MISTRAL", True),
        ("MY_PROXY_API_KEY", True),
        ("OPENAI_KEY", False),
        ("", False),
        *[(name, False) for name in SERVER_SECRETS],
    ],
)
def test_key_variable_allow_list(name, allowed):
    assert key_variable_allowed(name) is allowed


def test_explicit_setting_adds_names_but_never_a_server_variable(settings):
    settings.SEMROUTE_PROVIDER_KEY_VARS = ["VENDOR_TOKEN", "SECRET_KEY", "DATABASE_URL"]
    assert key_variable_allowed("VENDOR_TOKEN")
    assert not key_variable_allowed("SECRET_KEY")
    assert not key_variable_allowed("DATABASE_URL")


def test_provider_key_reads_only_allowed_variables(monkeypatch):
    monkeypatch.setenv("SEMROUTE_KEY_TEST", "sk-test")
    monkeypatch.setenv("SECRET_KEY", "django-secret")
    assert provider_key("SEMROUTE_KEY_TEST") == "sk-test"
    assert provider_key("SECRET_KEY") is None
    assert provider_key("NOT_SET_API_KEY") is None


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "SEMROUTE_ADMIN_PASSWORD"])
def test_import_refuses_a_server_variable_as_key(demo_document, name):
    document = copy.deepcopy(demo_document)
    document["tiers"][1]["api_key_env"] = name
    document["tiers"][1]["base_url"] = "https://attacker.example/v1"
    problems = {p.field: p.message for p in config_validate(document)}
    assert "SEMROUTE_PROVIDER_KEY_VARS" in problems["tiers[1].api_key_env"]


@pytest.mark.django_db
def test_console_tier_form_refuses_it(demo_router):
    tier = demo_router.tiers.order_by("rank").first()
    data = {
        "name": tier.name,
        "rank": tier.rank,
        "provider": tier.provider,
        "model": tier.model,
        "api_key_env": "SECRET_KEY",
        "price_in_per_mtok": "1",
        "price_out_per_mtok": "1",
        "quality": "0.5",
        "latency_ms": 1,
    }
    form = TierForm(data, instance=tier, router=demo_router)
    assert not form.is_valid()
    assert "may not hold a provider key" in form.errors["api_key_env"][0]


@pytest.mark.django_db
def test_admin_refuses_it(client, superuser, demo_router):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:routing_modeltier_add"),
        {
            "router": demo_router.pk,
            "name": "leak",
            "rank": 7,
            "provider": "openai-compatible",
            "model": "x",
            "base_url": "https://attacker.example/v1",
            "api_key_env": "DATABASE_URL",
            "price_in_per_mtok": "1",
            "price_out_per_mtok": "1",
            "quality": "0.5",
            "latency_ms": 10,
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "may not hold a provider key" in response.content.decode()
    assert not demo_router.tiers.filter(name="leak").exists()
