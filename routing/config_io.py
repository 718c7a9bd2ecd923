"""A router's whole configuration as one JSON document: export, validation, diff.

The document (format "semroute.router/1") is what the config API exports and imports, what a
RouterVersion stores, what rollback re-applies and what the demo loader reads. Applying it lives in
routing/services/ (`router_config_apply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch

from routing.engine.snapshot import (
    CLASSIFICATION_METHODS,
    COMPLEXITY_LEVELS,
    KNN_AGGREGATIONS,
    PROVIDERS,
    RULE_ACTIONS,
    RULE_KINDS,
    Policy,
)
from routing.models import Example, Intent, ModelTier, Router, regex_error

CONFIG_FORMAT = "semroute.router/1"

# The document's policy is the router's policy fields, defaulting as the engine's Policy does.
POLICY_DEFAULTS: dict[str, Any] = {
    field: getattr(Policy(), field) for field in Router.POLICY_FIELDS
}
TIER_FIELDS = (
    "name",
    "rank",
    "provider",
    "model",
    "base_url",
    "api_key_env",
    "price_in_per_mtok",
    "price_out_per_mtok",
    "quality",
    "latency_ms",
    "enabled",
)
INTENT_FIELDS = ("name", "description", "handler", "threshold", "min_tier", "enabled")
RULE_FIELDS = ("kind", "pattern", "priority", "action", "intent", "tier", "reason", "enabled")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    field: str  # path into the document, e.g. "rules[2].pattern"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


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
                "enabled": rule.enabled,
            }
            for rule in router.rules.select_related("intent", "tier").order_by("-priority", "id")
        ],
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    """Collects every problem in a document instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append(ConfigProblem(field, message))

    def string(
        self, obj: dict, key: str, path: str, *, required: bool = True, max_length: int = 10_000
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"{path}{key}", "is required.")
            return None
        if not isinstance(value, str):
            self.fail(f"{path}{key}", "must be a string.")
            return None
        if required and not value.strip():
            self.fail(f"{path}{key}", "must not be empty.")
        if len(value) > max_length:
            self.fail(f"{path}{key}", f"is longer than {max_length} characters.")
        return value

    def model_field(self, model: type[models.Model], field: str, value: Any, path: str) -> None:
        """The model field's own validators, so an import accepts exactly what the console does."""
        if not value:
            return
        try:
            model._meta.get_field(field).run_validators(value)
        except ValidationError as error:
            self.fail(path, " ".join(error.messages))

    def known_keys(self, obj: dict, path: str, allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(obj) - set(allowed))
        if unknown:
            self.fail(path.rstrip("."), f"unknown keys {unknown}; allowed: {list(allowed)}.")

    def number(
        self,
        obj: dict,
        key: str,
        path: str,
        *,
        low: float | None = None,
        high: float | None = None,
        required: bool = True,
        integer: bool = False,
    ) -> float | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"{path}{key}", "is required.")
            return None
        if not _is_number(value) or (integer and not isinstance(value, int)):
            self.fail(f"{path}{key}", f"must be {'an integer' if integer else 'a number'}.")
            return None
        if low is not None and value < low:
            self.fail(f"{path}{key}", f"must be >= {low} (got {value}).")
        if high is not None and value > high:
            self.fail(f"{path}{key}", f"must be <= {high} (got {value}).")
        return value

    def choice(self, obj: dict, key: str, path: str, choices: tuple[str, ...]) -> str | None:
        value = obj.get(key)
        if value not in choices:
            self.fail(f"{path}{key}", f"must be one of {list(choices)} (got {value!r}).")
            return None
        return value

    def boolean(self, obj: dict, key: str, path: str) -> None:
        if not isinstance(obj.get(key, True), bool):
            self.fail(f"{path}{key}", "must be true or false.")

    def objects(self, document: dict, key: str) -> list[dict]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, "must be a list of objects.")
            return []
        return value


def config_validate(document: Any) -> list[ConfigProblem]:
    """Every problem in a configuration document; an empty list means it can be applied."""
    check = _Checker()
    if not isinstance(document, dict):
        return [ConfigProblem("", "The configuration must be a JSON object.")]
    if document.get("format", CONFIG_FORMAT) != CONFIG_FORMAT:
        check.fail("format", f"must be {CONFIG_FORMAT!r}.")
    slug = check.string(document, "slug", "", max_length=64)
    check.model_field(Router, "slug", slug, "slug")
    check.string(document, "name", "", max_length=200)
    check.string(document, "description", "", required=False)

    tiers = check.objects(document, "tiers")
    tier_names: set[str] = set()
    for i, tier in enumerate(tiers):
        path = f"tiers[{i}]."
        check.known_keys(tier, path, TIER_FIELDS)
        name = check.string(tier, "name", path, max_length=64)
        if name in tier_names:
            check.fail(f"{path}name", f"duplicate tier name {name!r}.")
        tier_names.add(name or "")
        check.number(tier, "rank", path, low=0, integer=True)
        check.choice(tier, "provider", path, PROVIDERS)
        check.string(tier, "model", path, max_length=200)
        check.string(tier, "base_url", path, required=False, max_length=200)
        env_name = check.string(tier, "api_key_env", path, required=False, max_length=100)
        check.model_field(ModelTier, "api_key_env", env_name, f"{path}api_key_env")
        check.number(tier, "price_in_per_mtok", path, low=0)
        check.number(tier, "price_out_per_mtok", path, low=0)
        check.number(tier, "quality", path, low=0, high=1)
        check.number(tier, "latency_ms", path, low=0, required=False, integer=True)
        check.boolean(tier, "enabled", path)

    intents = check.objects(document, "intents")
    intent_names: set[str] = set()
    for i, intent in enumerate(intents):
        path = f"intents[{i}]."
        check.known_keys(intent, path, (*INTENT_FIELDS, "examples"))
        name = check.string(intent, "name", path, max_length=64)
        check.model_field(Intent, "name", name, f"{path}name")
        if name in intent_names:
            check.fail(f"{path}name", f"duplicate intent name {name!r}.")
        intent_names.add(name or "")
        check.string(intent, "description", path, required=False)
        check.string(intent, "handler", path, max_length=200)
        check.number(intent, "threshold", path, low=0, high=1, required=False)
        min_tier = intent.get("min_tier")
        if min_tier is not None and min_tier not in tier_names:
            check.fail(
                f"{path}min_tier", f"unknown tier {min_tier!r}; tiers are {sorted(tier_names)}."
            )
        check.boolean(intent, "enabled", path)
        examples = intent.get("examples", [])
        if not isinstance(examples, list):
            check.fail(f"{path}examples", "must be a list of strings.")
            continue
        for j, text in enumerate(examples):
            if not isinstance(text, str) or not text.strip():
                check.fail(f"{path}examples[{j}]", "must be a non-empty string.")

    complexity = document.get("complexity_examples", {})
    if not isinstance(complexity, dict):
        check.fail("complexity_examples", f"must be an object with keys {list(COMPLEXITY_LEVELS)}.")
    else:
        for level, texts in complexity.items():
            if level not in COMPLEXITY_LEVELS:
                check.fail(
                    f"complexity_examples.{level}", f"unknown level; use {list(COMPLEXITY_LEVELS)}."
                )
            elif not isinstance(texts, list) or not all(
                isinstance(t, str) and t.strip() for t in texts
            ):
                check.fail(f"complexity_examples.{level}", "must be a list of non-empty strings.")

    for i, rule in enumerate(check.objects(document, "rules")):
        path = f"rules[{i}]."
        check.known_keys(rule, path, RULE_FIELDS)
        kind = check.choice(rule, "kind", path, RULE_KINDS)
        pattern = check.string(rule, "pattern", path, max_length=500)
        if kind == "regex" and pattern and (message := regex_error(pattern)):
            check.fail(f"{path}pattern", f"invalid regular expression: {message}.")
        check.number(rule, "priority", path, integer=True, required=False)
        action = check.choice(rule, "action", path, RULE_ACTIONS)
        if action == "route" and rule.get("intent") not in intent_names:
            check.fail(
                f"{path}intent", f"a 'route' rule needs a known intent; got {rule.get('intent')!r}."
            )
        if action == "min_tier" and rule.get("tier") not in tier_names:
            check.fail(
                f"{path}tier", f"a 'min_tier' rule needs a known tier; got {rule.get('tier')!r}."
            )
        if action == "block" and not str(rule.get("reason") or "").strip():
            check.fail(f"{path}reason", "a 'block' rule needs a reason.")
        check.boolean(rule, "enabled", path)

    policy = document.get("policy", {})
    if not isinstance(policy, dict):
        check.fail("policy", "must be an object.")
        return check.problems
    unknown = sorted(set(policy) - set(POLICY_DEFAULTS))
    if unknown:
        check.fail("policy", f"unknown keys {unknown}.")
    merged = {**POLICY_DEFAULTS, **policy}
    check.choice(merged, "method", "policy.", CLASSIFICATION_METHODS)
    check.choice(merged, "aggregation", "policy.", KNN_AGGREGATIONS)
    check.number(merged, "top_k", "policy.", low=1, high=100, integer=True)
    low = check.number(merged, "ambiguity_low", "policy.", low=0, high=1)
    high = check.number(merged, "ambiguity_high", "policy.", low=0, high=1)
    if low is not None and high is not None and low > high:
        check.fail("policy.ambiguity_high", "must be >= policy.ambiguity_low.")
    check.number(merged, "threshold", "policy.", low=0, high=1)
    check.number(merged, "cache_ttl_seconds", "policy.", low=0, integer=True)
    check.number(merged, "latency_budget_ms", "policy.", low=1, integer=True, required=False)
    check.number(merged, "similarity_floor", "policy.", low=-1, high=1, required=False)
    if merged["fallback_intent"] is not None and merged["fallback_intent"] not in intent_names:
        check.fail("policy.fallback_intent", f"unknown intent {merged['fallback_intent']!r}.")
    if merged["fallback_tier"] is not None and merged["fallback_tier"] not in tier_names:
        check.fail("policy.fallback_tier", f"unknown tier {merged['fallback_tier']!r}.")
    return check.problems


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
        "tiers": [
            {"base_url": "", "api_key_env": "", "latency_ms": 0, "enabled": True, **tier}
            for tier in document.get("tiers", [])
        ],
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
            {"priority": 0, "intent": None, "tier": None, "reason": "", "enabled": True, **rule}
            for rule in document.get("rules", [])
        ],
    }
