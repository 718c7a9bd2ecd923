"""Whole configuration documents: validate, diff and apply atomically as one version; rollback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from routing.config_io import (
    TIER_FIELDS,
    ConfigProblem,
    config_diff,
    config_normalise,
    config_validate,
    router_config_export,
)
from routing.models import (
    ComplexityExample,
    Example,
    ExampleSource,
    Intent,
    ModelTier,
    Router,
    RouterVersion,
    Rule,
)
from routing.services.versioning import router_bump_version, router_lock, user_or_none
from routing.tasks import example_vectors_enqueue


@dataclass(slots=True)
class ConfigApplyResult:
    router: Router | None
    problems: list[ConfigProblem]
    changes: list[str]
    applied: bool


def router_config_apply(
    *,
    document: dict[str, Any],
    user=None,
    router: Router | None = None,
    dry_run: bool = False,
    summary: str | None = None,
    source: str = ExampleSource.IMPORT,
    author_label: str = "",
) -> ConfigApplyResult:
    """Validate a whole configuration document and apply it atomically as one new version.

    Creates the router when `router` is None and no router has the document's slug. Existing
    examples keep their vectors; nothing changes (and no version is made) when the diff is empty.
    `author_label` records a non-user author on the version (e.g. "key uxapp").
    """
    problems = config_validate(document)
    if router is not None and not problems and document["slug"] != router.slug:
        problems.append(
            ConfigProblem(
                "slug", f"The document is for router {document['slug']!r}, not {router.slug!r}."
            )
        )
    if problems:
        return ConfigApplyResult(router=router, problems=problems, changes=[], applied=False)
    document = config_normalise(document)
    if router is None:
        router = Router.objects.filter(slug=document["slug"]).first()
    if router is None:
        changes = [f"created router {document['slug']}"]
        if dry_run:
            return ConfigApplyResult(router=None, problems=[], changes=changes, applied=False)
        try:
            with transaction.atomic():
                router = Router.objects.create(
                    slug=document["slug"], name=document["name"], version=0
                )
                empty = config_normalise({"slug": document["slug"], "name": ""})
                _apply_document(router, document, empty, user=user_or_none(user), source=source)
                router_bump_version(
                    router=router,
                    user=user,
                    summary=summary or changes[0],
                    author_label=author_label,
                )
                example_vectors_enqueue(router.pk)
        except IntegrityError:
            # A concurrent import created the router first: apply this one over it, as the next version.
            router = Router.objects.filter(slug=document["slug"]).first()
            if router is None:
                raise
            return router_config_apply(
                document=document,
                user=user,
                router=router,
                summary=summary,
                source=source,
                author_label=author_label,
            )
        return ConfigApplyResult(router=router, problems=[], changes=changes, applied=True)
    if dry_run:
        changes = config_diff(router_config_export(router), document)
        return ConfigApplyResult(router=router, problems=[], changes=changes, applied=False)
    with transaction.atomic():
        # The current configuration is read under the router's lock: only what differs from it
        # is written, so it must be what a concurrent change left behind, not what preceded it.
        router_lock(router)
        current = router_config_export(router)
        changes = config_diff(current, document)
        if not changes:
            return ConfigApplyResult(router=router, problems=[], changes=[], applied=False)
        _apply_document(router, document, current, user=user_or_none(user), source=source)
        router_bump_version(
            router=router,
            user=user,
            summary=summary or "; ".join(changes),
            author_label=author_label,
        )
        example_vectors_enqueue(router.pk)
    return ConfigApplyResult(router=router, problems=[], changes=changes, applied=True)


def _apply_document(
    router: Router, document: dict[str, Any], current: dict[str, Any], *, user, source: str
) -> None:
    """Write `document` over `current` (both normalised): only tiers, intents, complexity levels
    and rules that differ are touched, so a one-example change costs a few queries."""
    router.name = document["name"]
    router.description = document["description"]

    current_tiers = {spec["name"]: spec for spec in current["tiers"]}
    wanted_tiers = [spec for spec in document["tiers"] if current_tiers.get(spec["name"]) != spec]
    router.tiers.exclude(name__in=[spec["name"] for spec in document["tiers"]]).delete()
    tiers_by_name = {tier.name: tier for tier in router.tiers.all()}
    for spec in wanted_tiers:
        tier = tiers_by_name.get(spec["name"]) or ModelTier(router=router)
        for name in TIER_FIELDS:
            setattr(tier, name, spec[name])
        tier.save()
        tiers_by_name[tier.name] = tier

    current_intents = {spec["name"]: spec for spec in current["intents"]}
    router.intents.exclude(name__in=[spec["name"] for spec in document["intents"]]).delete()
    intents_by_name = {intent.name: intent for intent in router.intents.all()}
    for spec in document["intents"]:
        before = current_intents.get(spec["name"])
        if before == spec:
            continue
        intent = intents_by_name.get(spec["name"]) or Intent(router=router, name=spec["name"])
        if before is None or {**before, "examples": None} != {**spec, "examples": None}:
            intent.description = spec["description"]
            intent.handler = spec["handler"]
            intent.threshold = spec["threshold"]
            intent.min_tier = tiers_by_name.get(spec["min_tier"])
            intent.enabled = spec["enabled"]
            intent.save()
            intents_by_name[intent.name] = intent
        texts = spec["examples"]
        existing = set(before["examples"]) if before else set()
        if before is not None and existing - set(texts):
            intent.examples.exclude(text__in=texts).delete()
        Example.objects.bulk_create(
            Example(intent=intent, text=text, source=source, created_by=user)
            for text in texts
            if text not in existing
        )

    for level, texts in document["complexity_examples"].items():
        if texts == current["complexity_examples"][level]:
            continue
        existing = set(current["complexity_examples"][level])
        if existing - set(texts):
            router.complexity_examples.filter(level=level).exclude(text__in=texts).delete()
        ComplexityExample.objects.bulk_create(
            ComplexityExample(router=router, level=level, text=text, source=source, created_by=user)
            for text in texts
            if text not in existing
        )

    if document["rules"] != current["rules"]:
        router.rules.all().delete()
        Rule.objects.bulk_create(
            Rule(
                router=router,
                kind=spec["kind"],
                pattern=spec["pattern"],
                priority=spec["priority"],
                action=spec["action"],
                intent=intents_by_name.get(spec["intent"]),
                tier=tiers_by_name.get(spec["tier"]),
                reason=spec["reason"],
                scope=spec["scope"],
                enabled=spec["enabled"],
            )
            for spec in document["rules"]
        )

    policy = document["policy"]
    references = {"fallback_intent": intents_by_name, "fallback_tier": tiers_by_name}
    for name in Router.POLICY_FIELDS:
        value = policy[name]
        setattr(router, name, references[name].get(value) if name in references else value)
    router.save(update_fields=Router.EDITABLE_FIELDS)


def router_rollback(*, router: Router, number: int, user=None) -> ConfigApplyResult:
    """Make a new version whose contents are those of version `number`."""
    old = RouterVersion.objects.get(router=router, number=number)
    return router_config_apply(
        document=old.config, user=user, router=router, summary=f"Rolled back to version {number}"
    )
