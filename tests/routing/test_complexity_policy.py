"""The complexity-to-quality floors and expected output tokens are policy fields."""

from __future__ import annotations

import pytest

from routing.engine.snapshot import Policy
from routing.engine.tier_policy import complexity_tier_map
from routing.forms import PolicyForm
from routing.services.versioning import router_policy_update
from routing.snapshots import compiled_router, router_snapshot_build

pytestmark = pytest.mark.django_db

DEMO_MAP = {"simple": "gpt-4o-mini", "moderate": "gpt-4o", "complex": "claude-sonnet-4"}


def test_the_demo_maps_each_level_to_the_promised_tier(demo_router):
    snapshot = router_snapshot_build(demo_router)
    assert snapshot.policy.complexity_min_quality == {
        "simple": 0.0,
        "moderate": 0.8,
        "complex": 0.9,
    }
    assert snapshot.policy.expected_output_tokens == {
        "simple": 150,
        "moderate": 400,
        "complex": 900,
    }
    assert complexity_tier_map(list(snapshot.tiers), snapshot.policy) == DEMO_MAP


def test_the_engines_defaults_still_map_moderate_to_the_cheap_tier(demo_router):
    # Why the demo sets its own floors: with the old fixed ones moderate landed on gpt-4o-mini.
    tiers = list(router_snapshot_build(demo_router).tiers)
    assert complexity_tier_map(tiers, Policy())["moderate"] == "gpt-4o-mini"


def test_changed_floors_reach_the_compiled_router(demo_router, operator):
    router_policy_update(
        router=demo_router,
        user=operator,
        changes={"min_quality_moderate": 0.0, "output_tokens_complex": 2000},
    )
    policy = compiled_router(demo_router).snapshot.policy
    assert policy.complexity_min_quality["moderate"] == 0.0
    assert policy.expected_output_tokens["complex"] == 2000
    tiers = list(compiled_router(demo_router).snapshot.tiers)
    assert complexity_tier_map(tiers, policy)["moderate"] == "gpt-4o-mini"


def test_the_console_policy_form_edits_the_floors(demo_router):
    form = PolicyForm(
        {"min_quality_complex": "0.95", "output_tokens_simple": "80"}, router=demo_router
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["min_quality_complex"] == 0.95
    assert form.cleaned_data["output_tokens_simple"] == 80
    assert form.cleaned_data["threshold"] == demo_router.threshold  # left out: kept


@pytest.mark.parametrize("url", ["/r/support/policy/", "/r/support/tiers/"])
def test_policy_and_tiers_pages_show_the_mapping(client, operator, demo_router, url):
    client.force_login(operator)
    page = client.get(url).text
    for level, tier in DEMO_MAP.items():
        assert f"{level} → {tier}" in page


def test_the_export_carries_the_floors(demo_router):
    from routing.config_io import router_config_export

    policy = router_config_export(demo_router)["policy"]
    assert (policy["min_quality_moderate"], policy["output_tokens_complex"]) == (0.8, 900)


def test_admin_router_page_has_the_floors(client, superuser, demo_router):
    client.force_login(superuser)
    page = client.get(f"/admin/routing/router/{demo_router.pk}/change/").text
    assert 'name="min_quality_moderate"' in page and 'name="output_tokens_complex"' in page


def test_the_policy_previews_unsaved_floors_as_the_engine_sees_them(demo_router):
    from routing.snapshots import policy_with_changes

    saved = compiled_router(demo_router).snapshot.policy
    tier = demo_router.tiers.get(name="gpt-4o-mini")
    unsaved = policy_with_changes(
        saved, {"min_quality_complex": 0.5, "output_tokens_moderate": 10, "fallback_tier": tier}
    )
    assert unsaved.complexity_min_quality == {"simple": 0.0, "moderate": 0.8, "complex": 0.5}
    assert unsaved.expected_output_tokens["moderate"] == 10
    assert unsaved.fallback_tier == "gpt-4o-mini" and unsaved.threshold == saved.threshold
    assert saved.complexity_min_quality["complex"] == 0.9  # the saved policy is untouched
