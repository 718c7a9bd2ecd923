import pytest
from django.urls import reverse

from routing.models import (
    APIKey,
    ComplexityExample,
    Example,
    Intent,
    ModelTier,
    RouterVersion,
    Rule,
)

pytestmark = pytest.mark.django_db

MODELS = (Intent, Example, ComplexityExample, Rule, ModelTier, RouterVersion, APIKey)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_changelist_and_change_pages_render(client, superuser, demo_router, model):
    client.force_login(superuser)
    meta = model._meta
    response = client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), {"q": "a"}
    )
    assert response.status_code == 200
    obj = model.objects.first()
    if obj is not None:
        response = client.get(
            reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        )
        assert response.status_code == 200


def test_router_admin_lists_version_counts_and_encoder(client, superuser, demo_router):
    client.force_login(superuser)
    page = client.get(reverse("admin:routing_router_changelist")).content.decode()
    assert "support" in page and "minilm-l6-v2-int8" in page
    assert (
        client.get(reverse("admin:routing_router_change", args=[demo_router.pk])).status_code == 200
    )
    assert client.get(reverse("admin:routing_router_add")).status_code == 200


def test_admin_intent_with_inline_example_bumps_version_and_computes_vector(
    client, superuser, demo_router, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    start = demo_router.version
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:routing_intent_add"),
            {
                "router": demo_router.pk,
                "name": "warranty",
                "handler": "support.warranty",
                "description": "Warranty claims",
                "enabled": "on",
                "examples-TOTAL_FORMS": "1",
                "examples-INITIAL_FORMS": "0",
                "examples-MIN_NUM_FORMS": "0",
                "examples-MAX_NUM_FORMS": "1000",
                "examples-0-text": "is my blender still under warranty",
                "examples-0-source": "manual",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    demo_router.refresh_from_db()
    assert demo_router.version == start + 1
    example = Example.objects.get(text="is my blender still under warranty")
    assert example.intent.name == "warranty" and example.vector is not None
    assert example.created_by == superuser


def test_admin_rejects_invalid_regex_with_the_error_shown(client, superuser, demo_router):
    client.force_login(superuser)
    start = demo_router.version
    response = client.post(
        reverse("admin:routing_rule_add"),
        {
            "router": demo_router.pk,
            "kind": "regex",
            "pattern": "(?P<x",
            "priority": 1,
            "action": "block",
            "reason": "nope",
        },
    )
    assert response.status_code == 200
    assert "Invalid regular expression" in response.content.decode()
    demo_router.refresh_from_db()
    assert demo_router.version == start


def test_admin_rejects_negative_price(client, superuser, demo_router):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:routing_modeltier_add"),
        {
            "router": demo_router.pk,
            "name": "cheap",
            "rank": 0,
            "provider": "openai",
            "model": "x",
            "price_in_per_mtok": "-1",
            "price_out_per_mtok": "1",
            "quality": "0.5",
            "latency_ms": 10,
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0" in response.content.decode()


def test_admin_creates_api_key_and_shows_it_once(client, superuser, demo_router):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:routing_apikey_add"),
        {
            "name": "mobile app",
            "scopes": '["route"]',
            "rate_limit_per_minute": 100,
            "routers": [demo_router.pk],
        },
        follow=True,
    )
    page = response.content.decode()
    key = APIKey.objects.get(name="mobile app")
    assert "it will not be shown again" in page and key.prefix in page
    assert list(key.routers.all()) == [demo_router]
    assert len(key.key_hash) == 64 and key.key_hash not in page


def _example_inline_post(demo_router, intent, text: str) -> dict:
    return {
        "router": demo_router.pk,
        "name": intent.name if intent else "warranty",
        "handler": intent.handler if intent else "support.warranty",
        "description": "",
        "enabled": "on",
        "examples-TOTAL_FORMS": "1",
        "examples-INITIAL_FORMS": "0",
        "examples-MIN_NUM_FORMS": "0",
        "examples-MAX_NUM_FORMS": "1000",
        "examples-0-text": text,
        "examples-0-source": "manual",
    }


def test_admin_example_add_goes_through_example_add(
    client, superuser, demo_router, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    billing = Intent.objects.get(router=demo_router, name="billing")
    start = demo_router.version
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:routing_example_add"),
            {"intent": billing.pk, "text": "  why two invoices this month ", "source": "manual"},
        )
    assert response.status_code == 302
    example = Example.objects.get(
        text="why two invoices this month"
    )  # stripped, as example_add does
    assert example.vector is not None and example.created_by == superuser
    demo_router.refresh_from_db()
    assert demo_router.version == start + 1
    latest = RouterVersion.objects.get(router=demo_router, number=demo_router.version)
    assert latest.summary == "Added example to billing"


def test_admin_refuses_a_text_another_intent_has(client, superuser, demo_router):
    client.force_login(superuser)
    billing = Intent.objects.get(router=demo_router, name="billing")
    refund = Intent.objects.get(router=demo_router, name="refund")
    taken = billing.examples.first().text
    start = demo_router.version

    single = client.post(
        reverse("admin:routing_example_add"),
        {"intent": refund.pk, "text": taken, "source": "manual"},
    )
    inline = client.post(
        reverse("admin:routing_intent_change", args=[refund.pk]),
        _example_inline_post(demo_router, refund, taken),
    )

    for response in (single, inline):
        assert response.status_code == 200
        assert "already an example of intent billing" in response.content.decode().lower()
    demo_router.refresh_from_db()
    assert demo_router.version == start
    assert not refund.examples.filter(text=taken).exists()


def test_admin_edited_complexity_text_gets_a_new_vector(
    client, superuser, demo_router, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    examples = list(demo_router.complexity_examples.order_by("id"))
    data = {
        "slug": demo_router.slug,
        "name": demo_router.name,
        "description": demo_router.description,
        **{
            name: ("" if value is None else value)
            for name, value in (
                (f, getattr(demo_router, f"{f}_id" if f in demo_router.POLICY_REFERENCES else f))
                for f in demo_router.POLICY_FIELDS
            )
        },
        "tiers-TOTAL_FORMS": "0",
        "tiers-INITIAL_FORMS": "0",
        "complexity_examples-TOTAL_FORMS": str(len(examples)),
        "complexity_examples-INITIAL_FORMS": str(len(examples)),
    }
    for i, example in enumerate(examples):
        data.update(
            {
                f"complexity_examples-{i}-id": example.pk,
                f"complexity_examples-{i}-router": demo_router.pk,
                f"complexity_examples-{i}-level": example.level,
                f"complexity_examples-{i}-text": example.text,
                f"complexity_examples-{i}-source": example.source,
            }
        )
    data["complexity_examples-0-text"] = "summarise this contract clause by clause"
    old_vector = bytes(examples[0].vector)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:routing_router_change", args=[demo_router.pk]), data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    examples[0].refresh_from_db()
    assert examples[0].text == "summarise this contract clause by clause"
    assert examples[0].vector is not None and bytes(examples[0].vector) != old_vector


def test_admin_api_key_is_created_by_api_key_create(client, superuser, demo_router):
    from routing.services.api_keys import api_key_hash

    client.force_login(superuser)
    response = client.post(
        reverse("admin:routing_apikey_add"),
        {"name": "ops", "scopes": '["route"]', "rate_limit_per_minute": 77},
        follow=True,
    )
    page = response.content.decode()
    key = APIKey.objects.get(name="ops")
    raw_key = page.split("will not be shown again: ")[1].split("<")[0].strip()
    assert key.key_hash == api_key_hash(raw_key) and raw_key.startswith(key.prefix)
    assert (key.rate_limit_per_minute, key.created_by, key.scopes) == (77, superuser, ["route"])
    assert APIKey.objects.filter(name="ops").count() == 1


def test_read_only_admin_lives_in_routing():
    from analytics import admin as analytics_admin
    from routing.admin import ReadOnlyAdmin

    assert analytics_admin.ReadOnlyAdmin is ReadOnlyAdmin
