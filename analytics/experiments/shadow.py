"""Shadow mode: a candidate (a version, policy changes, or both) routes a sample of live traffic in
a background thread, never on the request path, and each pair of decisions is stored.

The request only offers the decision to a bounded in-process queue (`put_nowait`); when the
queue is full the item is dropped and counted. The candidate routes without the decision cache
and without the LLM stage, so shadowing spends nothing; the day's budget (shared with the judge)
still stops the sampling when the judge has used it up, and that is counted too.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from analytics.experiments.budget import budget_left_now
from analytics.experiments.exceptions import ExperimentConflict
from analytics.experiments.models import ShadowComparison, ShadowTest, Status
from analytics.experiments.plans import version_compiled
from analytics.experiments.services import _refuse, arm_policy_check, configuration_promote
from routing.models import Router
from routing.runtime import runtime_cache
from routing.snapshots import compiled_router, policy_with_changes
from routing.vectors import active_encoder

logger = logging.getLogger("semroute.shadow")

QUEUE_MAX = 2_000
CHECK_SECONDS = 0.5
SHADOW_CHANNELS = frozenset({"api", "batch", "gateway"})  # live traffic, not the console's tries

# router id -> (checked at, (shadow id, sample percent) or None)
_running = runtime_cache("shadow_running", max_entries=1024)
_random = random.Random()


@dataclass(frozen=True, slots=True)
class ShadowItem:
    shadow_id: int
    router_id: int
    decision_id: Any
    query: str
    live_intent: str | None
    live_tier: str | None
    live_cost_usd: float


def running_shadow(router_id: int) -> tuple[int, float] | None:
    """(id, sample percent) of the router's running shadow test, re-checked every half second."""
    now = time.monotonic()
    entry = _running.get(router_id)
    if entry is not None and now - entry[0] < CHECK_SECONDS:
        return entry[1]
    try:
        found = (
            ShadowTest.objects.filter(router_id=router_id, status=Status.RUNNING)
            .values_list("pk", "sample_percent")
            .first()
        )
    except DatabaseError:
        return entry[1] if entry is not None else None
    _running.set(router_id, (now, found))
    return found


class ShadowQueue:
    """The bounded queue between requests and the shadow worker thread."""

    def __init__(self, max_items: int = QUEUE_MAX):
        self.items: queue.Queue[ShadowItem] = queue.Queue(maxsize=max_items)
        self.dropped: Counter[int] = Counter()  # shadow id -> dropped, not yet written
        self.autostart = True
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def offer(self, item: ShadowItem) -> bool:
        """Queue without waiting; a full queue drops the item and counts it."""
        try:
            self.items.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.dropped[item.shadow_id] += 1
            return False
        if self.autostart:
            self._ensure_worker()
        return True

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                item = self.items.get(timeout=1.0)
            except queue.Empty:
                self.drops_write()
                continue
            close_old_connections()
            self.process(item)
            self.drops_write()

    def drain(self) -> int:
        """Process everything queued now, in this thread (tests, shutdown); returns the count."""
        done = 0
        while True:
            try:
                item = self.items.get_nowait()
            except queue.Empty:
                break
            self.process(item)
            done += 1
        self.drops_write()
        return done

    def drops_write(self) -> None:
        with self._lock:
            dropped, self.dropped = self.dropped, Counter()
        for shadow_id, count in dropped.items():
            ShadowTest.objects.filter(pk=shadow_id).update(dropped=F("dropped") + count)

    def process(self, item: ShadowItem) -> None:
        try:
            shadow_compare(item)
        except Exception:
            logger.exception("shadow routing failed for decision %s", item.decision_id)
            ShadowTest.objects.filter(pk=item.shadow_id).update(failed=F("failed") + 1)

    def discard(self) -> None:
        while not self.items.empty():
            self.items.get_nowait()
        self.dropped.clear()


shadow_queue = ShadowQueue()


def candidate_decide(shadow: ShadowTest, router: Router, query: str):
    """The candidate's decision for one query (the worker's slow part)."""
    compiled = (
        version_compiled(router, shadow.version)
        if shadow.version is not None
        else compiled_router(router)
    )
    policy = policy_with_changes(compiled.snapshot.policy, shadow.policy or {})
    (decision,) = compiled.route_batch([query], encoder=active_encoder(), llm=None, policy=policy)
    return decision, {tier.name: tier.quality for tier in compiled.snapshot.tiers}


def shadow_compare(item: ShadowItem) -> None:
    shadow = ShadowTest.objects.select_related("router").filter(pk=item.shadow_id).first()
    if shadow is None or shadow.status != Status.RUNNING:
        return
    candidate, quality = candidate_decide(shadow, shadow.router, item.query)
    agreed = candidate.intent == item.live_intent and candidate.tier == item.live_tier
    try:
        with transaction.atomic():
            ShadowComparison.objects.create(
                shadow=shadow,
                decision_id=item.decision_id,
                query=item.query,
                live_intent=item.live_intent,
                live_tier=item.live_tier,
                live_cost_usd=item.live_cost_usd,
                live_quality=quality.get(item.live_tier),
                candidate_intent=candidate.intent,
                candidate_tier=candidate.tier,
                candidate_cost_usd=candidate.estimated_cost_usd,
                candidate_quality=quality.get(candidate.tier),
                agreed=agreed,
            )
    except IntegrityError:
        return  # this decision was compared already
    ShadowTest.objects.filter(pk=shadow.pk).update(routed=F("routed") + 1)


def shadow_observing(record: Callable[..., list]) -> Callable[..., list]:
    """`record` (the decision-log hook) that also offers a sample of decisions to the shadow."""

    def record_and_shadow(**kwargs: Any) -> list:
        ids = record(**kwargs)
        try:
            _offer(ids, **kwargs)
        except Exception:  # the decision log's hook must never raise
            logger.exception("shadow sampling failed")
        return ids

    return record_and_shadow


def _offer(ids, *, router, queries, decisions, channel="batch", **_: Any) -> None:
    if channel not in SHADOW_CHANNELS:
        return
    running = running_shadow(router.pk)
    if running is None:
        return
    shadow_id, percent = running
    chosen = [position for position in range(len(decisions)) if _random.random() * 100 < percent]
    if not chosen:
        return
    if not budget_left_now(router.pk):
        ShadowTest.objects.filter(pk=shadow_id).update(over_budget=F("over_budget") + len(chosen))
        return
    for position in chosen:
        decision = decisions[position]
        shadow_queue.offer(
            ShadowItem(
                shadow_id=shadow_id,
                router_id=router.pk,
                decision_id=ids[position],
                query=queries[position],
                live_intent=decision.intent,
                live_tier=decision.tier,
                live_cost_usd=decision.estimated_cost_usd,
            )
        )


def shadow_create(
    *,
    router: Router,
    name: str,
    version: int | None = None,
    policy: dict | None = None,
    sample_percent: float = 10.0,
    user=None,
) -> ShadowTest:
    policy = policy or {}
    problems = []
    if not name.strip() or len(name) > 200:
        problems.append({"field": "name", "message": "a name is 1-200 characters."})
    if not 0 < sample_percent <= 100:
        problems.append({"field": "sample_percent", "message": "above 0, at most 100 percent."})
    message = arm_policy_check(router, version=version, policy=policy)
    if message:
        problems.append({"field": "candidate", "message": message})
    _refuse(problems)
    try:
        with transaction.atomic():
            shadow = ShadowTest.objects.create(
                router=router,
                name=name.strip(),
                version=version,
                policy=policy,
                sample_percent=sample_percent,
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
    except IntegrityError as error:
        raise ExperimentConflict(
            f"Router {router.slug!r} already runs a shadow test; stop it first."
        ) from error
    _running.pop(router.pk)
    return shadow


def shadow_stop(*, shadow: ShadowTest, promote: bool = False, user=None) -> ShadowTest:
    """End the shadow test; with `promote`, its candidate becomes the configuration first."""
    if shadow.status != Status.RUNNING:
        raise ExperimentConflict(f"Shadow test {shadow.name!r} has ended ({shadow.status}).")
    if promote:
        configuration_promote(
            router=shadow.router,
            version=shadow.version,
            policy=shadow.policy or {},
            user=user,
            summary=f"Promoted shadow candidate {shadow.name!r}",
        )
        shadow.promoted_version = shadow.router.version
    shadow.status = Status.PROMOTED if promote else Status.STOPPED
    shadow.ended_at = timezone.now()
    shadow.save()
    _running.pop(shadow.router_id)
    return shadow
