"""Template tags for the console's policy and tiers pages."""

from __future__ import annotations

from django import template

from routing.engine.tier_policy import complexity_tier_map
from routing.models import Router
from routing.snapshots import router_policy, tier_spec

register = template.Library()


@register.simple_tag
def complexity_tiers(router: Router) -> dict[str, str | None]:
    """Which tier serves each complexity level under the saved policy: {"simple": "gpt-4o-mini", ...}."""
    tiers = list(router.tiers.order_by("rank", "name"))
    names = {tier.pk: tier.name for tier in tiers}
    policy = router_policy(router, intent_names={}, tier_names=names)
    return complexity_tier_map([tier_spec(tier) for tier in tiers], policy)
