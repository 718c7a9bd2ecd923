"""A router's whole configuration as one JSON document: export, validation, diff.

The document (format "semroute.router/1") is what the config API exports and imports, what a
RouterVersion stores, what rollback re-applies and what the demo loader reads. Its one typed schema
and every bound live in routing/config_schema.py; applying it lives in routing/services/
(`router_config_apply`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch

from routing.config_schema import (
    CONFIG_FORMAT,
    INTENT_FIELDS,
    POLICY_DEFAULTS,
    RULE_FIELDS,
    TIER_DEFAULTS,
    TIER_FIELDS,
    ConfigProblem,
    config_cross_problems,
    config_schema_problems,
)
from routing.engine.snapshot import COMPLEXITY_LEVELS
from routing.models import Example, Intent, Router

__all__ = [
    "CONFIG_FORMAT",
    "INTENT_FIELDS",
    "POLICY_DEFAULTS",
    "RULE_FIELDS",
    "TIER_FIELDS",
    "ConfigProblem",
    "config_diff",
    "config_normalise",
    "config_validate",
    "router_config_export",
]


def _price(value: Decimal) -> float:
    return float(value)


def router_config_export(router: Router) -> dict[str, Any]:
    """The whole configuration of `router` as a plain JSON-ready document (vectors excluded)."""
    # Texts only: the vector column is most of each example row.
    intents = (
        Intent.objects.for_router(router)
        .select_related("min_tier")
        .prefetch_related(
            Prefetch("examples", Example.objects.only("id", "intent_id", "text").order_by("id"))
        )
        .order_by("name")
    )
    complexity: dict[str, list[str]] = {level: [] for level in COMPLEXITY_LEVELS}
    for level, text in router.complexity_examples.order_by("id").values_list("level", "text"):
        complexity[level].append(text)
    return {
        "format": CONFIG_FORMAT,
        "slug": router.slug,
        "name": router.name,
        "description": router.description,
        "version": router.version,
        "policy": {
            **router.policy_values(),
            "fallback_intent": router.fallback_intent.name if router.fallback_intent_id else None,
            "fallback_tier": router.fallback_tier.name if router.fallback_tier_id else None,
        },
        "tiers": [
            {
                "name": tier.name,
                "rank": tier.rank,
                "provider": tier.provider,
                "model": tier.model,
                "base_url": tier.base_url,
                "api_key_env": tier.api_key_env,
                "price_in_per_mtok": _price(tier.price_in_per_mtok),
                "price_out_per_mtok": _price(tier.price_out_per_mtok),
                "quality": tier.quality,
                "latency_ms": tier.latency_ms,
                "enabled": tier.enabled,
                "context_window": tier.context_window,
                "supports_tools": tier.supports_tools,
                "connect_timeout_seconds": tier.connect_timeout_seconds,
                "timeout_seconds": tier.timeout_seconds,
                "max_retries": tier.max_retries,
            }
            for tier in router.tiers.order_by("rank", "name")
        ],
        "intents": [
            {
                "name": intent.name,
                "description": intent.description,
                "handler": intent.handler,
                "threshold": intent.threshold,
                "min_tier": intent.min_tier.name if intent.min_tier_id else None,
                "enabled": intent.enabled,
                "examples": [example.text for example in intent.examples.all()],
            }
            for intent in intents
        ],
        "complexity_examples": complexity,
        "rules": [
            {
                "kind": rule.kind,
                "pattern": rule.pattern,
                "priority": rule.priority,
                "action": rule.action,
                "intent": rule.intent.name if rule.intent_id else None,
                "tier": rule.tier.name if rule.tier_id else None,
                "reason": rule.reason,
                "scope": rule.scope,
                "enabled": rule.enabled,
            }
            for rule in router.rules.select_related("intent", "tier").order_by("-priority", "id")
        ],
    }


def config_validate(document: Any) -> list[ConfigProblem]:
    """Every problem in a configuration document; an empty list means it can be applied."""
    if not isinstance(document, dict):
        return [ConfigProblem("", "The configuration must be a JSON object.")]
    return config_schema_problems(document) + config_cross_problems(document)


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


def _rule_key(rule: dict) -> tuple:
    return tuple(rule.get(field) for field in RULE_FIELDS)


def config_diff(current: dict[str, Any], proposed: dict[str, Any]) -> list[str]:
    """Human-readable changes from `current` to `proposed` (both valid documents)."""
    current, proposed = config_normalise(current), config_normalise(proposed)
    changes: list[str] = []
    for key in ("name", "description"):
        if current.get(key, "") != proposed.get(key, ""):
            changes.append(f"{key} changed")
    for key in POLICY_DEFAULTS:
        if current["policy"][key] != proposed["policy"][key]:
            changes.append(
                f"policy.{key}: {current['policy'][key]!r} -> {proposed['policy'][key]!r}"
            )

    for section, fields in (("tiers", TIER_FIELDS), ("intents", INTENT_FIELDS)):
        before, after = _by_name(current[section]), _by_name(proposed[section])
        singular = section[:-1]
        for name in sorted(after.keys() - before.keys()):
            changes.append(f"added {singular} {name}")
        for name in sorted(before.keys() - after.keys()):
            changes.append(f"removed {singular} {name}")
        for name in sorted(before.keys() & after.keys()):
            old, new = before[name], after[name]
            changed = [f for f in fields if f != "name" and old.get(f) != new.get(f)]
            if changed:
                changes.append(f"changed {singular} {name}: {', '.join(changed)}")
            if section == "intents":
                old_texts, new_texts = set(old.get("examples", [])), set(new.get("examples", []))
                if new_texts - old_texts:
                    changes.append(f"intent {name}: {len(new_texts - old_texts)} example(s) added")
                if old_texts - new_texts:
                    changes.append(
                        f"intent {name}: {len(old_texts - new_texts)} example(s) removed"
                    )

    for level in COMPLEXITY_LEVELS:
        old_texts = set(current["complexity_examples"][level])
        new_texts = set(proposed["complexity_examples"][level])
        if new_texts - old_texts:
            changes.append(f"complexity {level}: {len(new_texts - old_texts)} example(s) added")
        if old_texts - new_texts:
            changes.append(f"complexity {level}: {len(old_texts - new_texts)} example(s) removed")

    old_rules = [_rule_key(rule) for rule in current["rules"]]
    new_rules = [_rule_key(rule) for rule in proposed["rules"]]
    if sorted(old_rules, key=repr) != sorted(new_rules, key=repr):
        added = [r for r in new_rules if r not in old_rules]
        removed = [r for r in old_rules if r not in new_rules]
        for rule in added:
            changes.append(f"added rule {rule[0]}:{rule[1]!r} ({rule[3]})")
        for rule in removed:
            changes.append(f"removed rule {rule[0]}:{rule[1]!r} ({rule[3]})")
    return changes


def _texts(texts: list[str]) -> list[str]:
    """Example texts as stored: stripped, first occurrence of each kept, order kept."""
    return list(dict.fromkeys(text.strip() for text in texts))


def config_normalise(document: dict[str, Any]) -> dict[str, Any]:
    """A valid document with every optional field filled in with its default."""
    complexity = document.get("complexity_examples") or {}
    return {
        "format": CONFIG_FORMAT,
        "slug": document["slug"],
        "name": document["name"],
        "description": document.get("description") or "",
        "policy": {**POLICY_DEFAULTS, **document.get("policy", {})},
        "tiers": [{**TIER_DEFAULTS, **tier} for tier in document.get("tiers", [])],
        "intents": [
            {
                "description": "",
                "threshold": None,
                "min_tier": None,
                "enabled": True,
                **intent,
                "examples": _texts(intent.get("examples", [])),
            }
            for intent in document.get("intents", [])
        ],
        "complexity_examples": {
            level: _texts(complexity.get(level, [])) for level in COMPLEXITY_LEVELS
        },
        "rules": [
            {
                "priority": 0,
                "intent": None,
                "tier": None,
                "reason": "",
                "scope": "query",
                "enabled": True,
                **rule,
            }
            for rule in document.get("rules", [])
        ],
    }
