"""Configuration workflows. Every change runs in one transaction and bumps the router's version.

Views, API handlers, admin, tasks and management commands all call these functions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from routing.config_io import (
    TIER_FIELDS,
    ConfigProblem,
    config_diff,
    config_normalise,
    config_validate,
    router_config_export,
)
from routing.models import (
    APIKey,
    ComplexityExample,
    Example,
    ExampleSource,
    Intent,
    ModelTier,
    Router,
    RouterVersion,
    Rule,
)

MAX_EXAMPLE_CHARS = 2000


def router_bump_version(*, router: Router, user=None, summary: str) -> RouterVersion:
    """Record a new version of `router` holding its current configuration. Call inside the change's transaction."""
    number = router.bump_version()
    version = RouterVersion.objects.create(
        router=router,
        number=number,
        summary=summary[:500],
        config=router_config_export(router),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    return version


def example_vectors_enqueue(router_id: int) -> None:
    from routing.tasks import example_vectors_compute_task

    transaction.on_commit(lambda: example_vectors_compute_task.delay(router_id))


@contextmanager
def config_change(
    *, router: Router, user=None, summary: str, examples_changed: bool = False
) -> Iterator[None]:
    """One configuration change: atomic, one new version, vectors computed after commit when needed."""
    with transaction.atomic():
        Router.objects.select_for_update().filter(
            pk=router.pk
        ).exists()  # serialise concurrent edits
        yield
        router_bump_version(router=router, user=user, summary=summary)
        if examples_changed:
            example_vectors_enqueue(router.pk)


def _describe(obj: models.Model) -> str:
    return f"{obj._meta.verbose_name} {obj}"


def _router_of(obj: models.Model) -> Router:
    return obj.router if hasattr(obj, "router_id") else obj.intent.router


def config_object_save(*, obj: Intent | Rule | ModelTier, user=None, summary: str = "") -> None:
    """Validate and save one configuration object, bumping its router's version.

    Examples go through example_add / examples_add_bulk, the policy through router_policy_update.
    """
    obj.full_clean()
    if not summary:
        summary = f"{'Added' if obj._state.adding else 'Changed'} {_describe(obj)}"
    with config_change(router=obj.router, user=user, summary=summary):
        obj.save()


def config_object_delete(
    *, obj: Intent | Rule | ModelTier | Example | ComplexityExample, user=None
) -> None:
    """Delete one configuration object, bumping its router's version (nothing to encode)."""
    with config_change(router=_router_of(obj), user=user, summary=f"Deleted {_describe(obj)}"):
        obj.delete()


def router_create(*, slug: str, name: str, description: str = "", user=None) -> Router:
    router = Router(slug=slug, name=name, description=description, version=0)
    router.full_clean()
    with transaction.atomic():
        router.save()
        router_bump_version(router=router, user=user, summary="Created router")
    return router


def router_policy_update(*, router: Router, user=None, changes: dict[str, Any]) -> Router:
    """Change policy fields (method, thresholds, band, fallbacks, ...) as one new version."""
    before = {name: getattr(router, name) for name in changes}
    for name, value in changes.items():
        setattr(router, name, value)
    router.full_clean()
    changed = [
        f"{name}: {before[name]!r} -> {value!r}"
        for name, value in changes.items()
        if before[name] != value
    ]
    if not changed:
        return router
    with config_change(router=router, user=user, summary="Policy " + "; ".join(changed)):
        router.save(update_fields=Router.EDITABLE_FIELDS)
    return router


def _clean_example_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError({"text": "An example cannot be empty."})
    if len(cleaned) > MAX_EXAMPLE_CHARS:
        raise ValidationError(
            {
                "text": f"An example is limited to {MAX_EXAMPLE_CHARS} characters (got {len(cleaned)})."
            }
        )
    return cleaned


def example_add(
    *, intent: Intent, text: str, source: str = ExampleSource.MANUAL, user=None
) -> Example:
    """Add one example to an intent (new version); a duplicate text is a validation error."""
    text = _clean_example_text(text)
    if intent.examples.filter(text=text).exists():
        raise ValidationError({"text": f"'{text}' is already an example of {intent.name}."})
    example = Example(intent=intent, text=text, source=source, created_by=_user_or_none(user))
    with config_change(
        router=intent.router,
        user=user,
        summary=f"Added example to {intent.name}",
        examples_changed=True,
    ):
        example.save()
    return example


@dataclass(slots=True)
class BulkAddResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (text, why)
    blank_lines: int = 0


def examples_add_bulk(
    *, intent: Intent, texts: Sequence[str], source: str = ExampleSource.MANUAL, user=None
) -> BulkAddResult:
    """Add many examples at once (one version); blank lines, duplicates and overlong lines are reported."""
    result = BulkAddResult()
    existing = set(intent.examples.values_list("text", flat=True))
    for raw in texts:
        if not raw.strip():
            result.blank_lines += 1
            continue
        try:
            text = _clean_example_text(raw)
        except ValidationError as exc:
            result.rejected.append((raw[:80], exc.message_dict["text"][0]))
            continue
        if text in existing:
            result.duplicates.append(text)
            continue
        existing.add(text)
        result.added.append(text)
    if result.added:
        summary = f"Added {len(result.added)} example(s) to {intent.name}"
        with config_change(router=intent.router, user=user, summary=summary, examples_changed=True):
            Example.objects.bulk_create(
                Example(intent=intent, text=text, source=source, created_by=_user_or_none(user))
                for text in result.added
            )
    return result


def _user_or_none(user):
    return user if getattr(user, "is_authenticated", False) else None


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
) -> ConfigApplyResult:
    """Validate a whole configuration document and apply it atomically as one new version.

    Creates the router when `router` is None and no router has the document's slug. Existing
    examples keep their vectors; nothing changes (and no version is made) when the diff is empty.
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
        with transaction.atomic():
            router = Router.objects.create(slug=document["slug"], name=document["name"], version=0)
            empty = config_normalise({"slug": document["slug"], "name": ""})
            _apply_document(router, document, empty, user=_user_or_none(user), source=source)
            router_bump_version(router=router, user=user, summary=summary or changes[0])
            example_vectors_enqueue(router.pk)
        return ConfigApplyResult(router=router, problems=[], changes=changes, applied=True)
    if dry_run:
        changes = config_diff(router_config_export(router), document)
        return ConfigApplyResult(router=router, problems=[], changes=changes, applied=False)
    with transaction.atomic():
        # The current configuration is read under the router's lock: only what differs from it
        # is written, so it must be what a concurrent change left behind, not what preceded it.
        Router.objects.select_for_update().filter(pk=router.pk).exists()
        current = router_config_export(router)
        changes = config_diff(current, document)
        if not changes:
            return ConfigApplyResult(router=router, problems=[], changes=[], applied=False)
        _apply_document(router, document, current, user=_user_or_none(user), source=source)
        router_bump_version(router=router, user=user, summary=summary or "; ".join(changes))
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


def example_vectors_compute(*, router_id: int, batch_size: int | None = None) -> int:
    """Compute vectors for the router's examples that have none or were made by another encoder.

    Idempotent: running it twice, or concurrently, writes the same vectors. Returns how many it wrote.
    """
    from routing.snapshots import active_encoder

    encoder = active_encoder()
    batch_size = batch_size or settings.SEMROUTE_EMBED_BATCH_SIZE
    written = 0
    for queryset in (
        Example.objects.filter(intent__router_id=router_id),
        ComplexityExample.objects.filter(router_id=router_id),
    ):
        while True:
            batch = list(queryset.needing_vectors(encoder.name).order_by("id")[:batch_size])
            if not batch:
                break
            vectors = np.asarray(
                encoder.encode([example.text for example in batch]), dtype=np.float32
            )
            for example, vector in zip(batch, vectors, strict=True):
                example.vector = vector.tobytes()
                example.encoder = encoder.name
            queryset.model.objects.bulk_update(batch, ["vector", "encoder"])
            written += len(batch)
    return written


def api_key_create(
    *, name: str, scopes: Sequence[str], routers: Sequence[Router] = (), user=None
) -> tuple[APIKey, str]:
    """Create an API key; the raw key is returned once and only its hash is stored."""
    prefix, raw_key = api_key_new_secret()
    key = APIKey(
        name=name,
        prefix=prefix,
        key_hash=api_key_hash(raw_key),
        scopes=list(scopes),
        created_by=_user_or_none(user),
    )
    key.full_clean()
    with transaction.atomic():
        key.save()
        key.routers.set(routers)
    return key, raw_key


def api_key_new_secret() -> tuple[str, str]:
    """A new key's visible prefix and the whole raw key (which starts with the prefix)."""
    prefix = "sr_" + secrets.token_hex(4)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_revoke(*, key: APIKey) -> None:
    APIKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db(fields=["revoked_at"])
