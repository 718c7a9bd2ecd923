"""Operators edit, viewers read, anyone else sees nothing."""

import pytest
from django.contrib.auth.models import Group

from routing.models import Intent, RouterVersion

EDITS = [
    ("/r/support/intents/new/", {"name": "x", "handler": "h"}),
    ("/r/support/intents/billing/edit/", {"handler": "h"}),
    ("/r/support/intents/billing/delete/", {}),
    ("/r/support/intents/billing/examples/add/", {"text": "a new example"}),
    ("/r/support/intents/billing/examples/bulk/", {"texts": "one\ntwo"}),
    (
        "/r/support/rules/new/",
        {"kind": "keyword", "pattern": "x", "action": "block", "reason": "r"},
    ),
    ("/r/support/tiers/new/", {"name": "t"}),
    ("/r/support/policy/", {"action": "save", "threshold": "0.9"}),
    ("/r/support/versions/1/rollback/", {}),
    ("/r/support/playground/correct/", {"q": "hello", "intent": "billing"}),
]


def test_roles_exist_after_migrations(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"operators", "viewers"}


@pytest.mark.parametrize(("url", "payload"), EDITS)
def test_viewer_cannot_edit(viewer_client, demo_router, url, payload):
    version = demo_router.version
    assert viewer_client.post(url, payload).status_code == 403
    assert viewer_client.post(url, payload, headers={"HX-Request": "true"}).status_code == 403
    assert RouterVersion.objects.filter(router=demo_router).count() == version


def test_viewer_reads_without_edit_controls(viewer_client, demo_router):
    page = viewer_client.get("/r/support/")
    assert page.status_code == 200 and "billing" in page.text
    assert "Add intent" not in page.text and "/edit/" not in page.text
    playground = viewer_client.get("/r/support/playground/?q=where+is+my+parcel")
    assert playground.status_code == 200 and "This should be intent" not in playground.text
    # previewing a policy changes nothing, so viewers may do it
    preview = viewer_client.post(
        "/r/support/policy/", {**_policy(demo_router), "action": "preview"}
    )
    assert preview.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/r/support/",
        "/r/support/intents/billing/",
        "/r/support/playground/?q=hi",
        "/r/support/versions/",
        "/r/support/policy/",
    ],
)
def test_outsider_sees_nothing(client, outsider, demo_router, url):
    client.force_login(outsider)
    response = client.get(url)
    assert response.status_code == 403
    assert "billing" not in response.text and "support" not in response.text.lower().replace(
        "semroute", ""
    )


def test_anonymous_is_sent_to_login(client, demo_router):
    response = client.get("/r/support/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_still_works(client, operator):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "olivia", "password": "pw-olivia"})
    assert response.status_code == 302


def test_unknown_router_and_intent_are_404(operator_client, demo_router):
    assert operator_client.get("/r/nope/").status_code == 404
    assert operator_client.get("/r/support/intents/nope/").status_code == 404


def test_superuser_edits(client, superuser, demo_router):
    client.force_login(superuser)
    response = client.post(
        "/r/support/intents/new/", {"name": "returns", "handler": "returns_flow", "enabled": "on"}
    )
    assert response.status_code == 302
    assert Intent.objects.filter(router=demo_router, name="returns").exists()


def _policy(router):
    return {
        "method": router.method,
        "top_k": router.top_k,
        "aggregation": router.aggregation,
        "threshold": router.threshold,
        "ambiguity_low": router.ambiguity_low,
        "ambiguity_high": router.ambiguity_high,
        "fallback_intent": "",
        "fallback_tier": router.fallback_tier_id or "",
        "cache_ttl_seconds": router.cache_ttl_seconds,
        "latency_budget_ms": "",
    }


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_a_user_without_a_role_gets_the_styled_403_page_saying_what_to_ask_for(
    client, outsider, demo_router, headers
):
    client.force_login(outsider)
    response = client.get("/r/support/", headers=headers)
    assert response.status_code == 403
    assert "<html" in response.text and 'class="topbar"' in response.text
    assert "vendor/htmx.min.js" in response.text and 'id="forbidden"' in response.text
    assert "ask an administrator for the viewer or operator role" in response.text
    assert "Log out oscar" in response.text


def test_a_viewer_who_tries_to_edit_is_told_only_operators_can(viewer_client, demo_router):
    response = viewer_client.post("/r/support/intents/billing/delete/")
    assert response.status_code == 403 and 'id="forbidden"' in response.text
    assert "only operators can change it" in response.text
