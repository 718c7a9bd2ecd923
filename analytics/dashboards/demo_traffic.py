"""Demo traffic: 30 days of decisions for the demo router, so a first look is not empty.

Every query is routed by the real engine (routing.decide.decide_batch, the API's path) and the
rows are written by the decision log's own writer; only their times are spread over the past
days, and what a gateway would have done (attempts, actual cost, provider latency, escalations)
is simulated for a share of them, as are thumbs-up/down feedback and re-asks. The decisions go
through the review queue's intake, so the queue and the confusion matrix have items too. Every
row carries metadata {"demo": "traffic"} (and its feedback the comment "demo traffic"), so
`demo_traffic_remove` deletes exactly them and their place in the queue. The last week escalates
more on the cheapest tier, asks more about cancellations and asks something new out of scope
(book recommendations), so the dashboards' alerts and drift have something to show.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.dashboards.clusters import out_of_scope_clusters_compute
from analytics.dashboards.rollups import rollup_run
from analytics.decision_log import decision_rows_write
from analytics.models import DecisionLog, Feedback
from analytics.review.intake import review_decisions_remove, rows_intake
from analytics.review.models import ReviewReason
from routing.decide import decide
from routing.models import Router
from routing.schemas import DECISION_PUBLIC_FIELDS

MARK = {"demo": "traffic"}
FEEDBACK_COMMENT = "demo traffic"
OUT_OF_SCOPE = [
    "what's the weather in lisbon tomorrow",
    "write me a haiku about autumn",
    "who won the match last night",
    "how tall is mount everest",
    "recommend a pizza place near me",
    "translate good morning into japanese",
    "what is the capital of australia",
]
NEW_LAST_WEEK = [  # out of scope, and only in the last week: a new cluster for the drift section
    "recommend a good sci-fi novel",
    "suggest a fantasy book series",
    "recommend a good book to read",
    "what's a good mystery novel",
    "which fantasy books should I read next",
]
TAILS = ["", "", "", " please", "?", " asap", " thanks", ", quick question", " again", " today"]
PREFIXES = ["", "", "", "hi, ", "hello ", "hey - ", "urgent: ", "sorry, "]
LANGUAGES = ["en"] * 88 + ["es"] * 5 + ["de"] * 4 + ["fr"] * 3


class DemoTrafficRefused(Exception):
    pass


@dataclass
class DemoTrafficReport:
    decisions: int
    feedback: int
    hours_rolled: int


def _queries(router: Router, rng: random.Random) -> tuple[list[str], list[str]]:
    """(every query, the cancellation ones) from the router's examples, varied a little."""
    texts, cancels = [], []
    for intent in router.intents.filter(enabled=True).prefetch_related("examples"):
        for example in intent.examples.all():
            texts.append(example.text)
            if "cancel" in intent.name:
                cancels.append(example.text)
    texts += OUT_OF_SCOPE * 3
    return texts, cancels or texts


def _vary(text: str, rng: random.Random) -> str:
    return rng.choice(PREFIXES) + text + rng.choice(TAILS)


def _pool(texts: list[str], cancels: list[str], last_week: bool, rng: random.Random) -> list[str]:
    """Where a query is drawn from: the last week asks about cancelling, and for books."""
    if not last_week:
        return texts
    draw = rng.random()
    return cancels if draw < 0.4 else NEW_LAST_WEEK if draw < 0.5 else texts


def _gateway_facts(decision, tiers: list, rng: random.Random, *, last_week: bool) -> dict:
    names = [tier.name for tier in tiers]
    start = names.index(decision.tier) if decision.tier in names else 0
    escalate_p = (0.10 if last_week else 0.03) if start == 0 else 0.02
    attempts = []
    for index in range(start, len(tiers)):
        tier = tiers[index]
        latency = rng.lognormvariate(6.3 + 0.35 * index, 0.45)
        prompt, completion = rng.randint(40, 400), rng.randint(30, 700)
        cost = (
            prompt * float(tier.price_in_per_mtok) + completion * float(tier.price_out_per_mtok)
        ) / 1e6
        draw = rng.random()
        failed = index < len(tiers) - 1 and draw < escalate_p
        # Half the escalations follow an answer cut at the token limit (it was paid for and
        # queues the decision for review), half a tier that timed out.
        truncated = failed and draw < escalate_p / 2
        paid = not failed or truncated
        attempts.append(
            {
                "tier": tier.name,
                "model": tier.model,
                "provider": tier.provider,
                "outcome": "ok" if not failed else "truncated" if truncated else "timeout",
                "latency_ms": round(latency, 1),
                "ttft_ms": round(latency * rng.uniform(0.15, 0.4), 1) if paid else None,
                "prompt_tokens": prompt,
                "completion_tokens": completion if paid else 0,
                "cost_usd": cost if paid else 0.0,
                "error": "" if paid else "timeout after 30 s",
            }
        )
        if not failed:
            break
    answered = attempts[-1]
    return {
        "attempts": attempts,
        "answer_tier": answered["tier"],
        "escalations": len(attempts) - 1,
        "actual_cost_usd": sum(a["cost_usd"] for a in attempts),
        "provider_latency_ms": sum(a["latency_ms"] for a in attempts),
        "ttft_ms": answered["ttft_ms"],
        "prompt_tokens": sum(a["prompt_tokens"] for a in attempts),
        "completion_tokens": sum(a["completion_tokens"] for a in attempts),
    }


def _moments(rng: random.Random, count: int, days: int, now: datetime) -> list[datetime]:
    """Times over the past `days`, busier in working hours and growing a little day by day."""
    moments = []
    while len(moments) < count:
        offset = rng.random() * days * 86_400
        moment = now - timedelta(seconds=offset)
        busy = 0.35 + 0.65 * (8 <= moment.hour <= 19)
        growth = 0.7 + 0.3 * (1 - offset / (days * 86_400))
        if rng.random() < busy * growth:
            moments.append(moment)
    return sorted(moments)


def demo_traffic_generate(
    *,
    router: Router,
    count: int = 2500,
    days: int = 30,
    seed: int = 14,
    now: datetime | None = None,
) -> DemoTrafficReport:
    """Route `count` demo queries with `router` and log them over the past `days` (see module doc)."""
    if not settings.DEBUG:
        raise DemoTrafficRefused(
            "Demo traffic is never generated with DEBUG=0 (a production setting)."
        )
    now = now or timezone.now()
    rng = random.Random(seed)
    texts, cancels = _queries(router, rng)
    tiers = list(router.tiers.filter(enabled=True).order_by("rank"))
    moments = _moments(rng, count, days, now)
    last_week = now - timedelta(days=7)
    queries = [
        _vary(rng.choice(_pool(texts, cancels, moment >= last_week, rng)), rng)
        for moment in moments
    ]
    rows, feedback = [], []
    # One query per call, as the route API does: a batch would give every decision its latency.
    for query, moment in zip(queries, moments, strict=True):
        decision = decide(router=router, query=query)
        gateway = decision.tier is not None and rng.random() < 0.4
        facts = (
            _gateway_facts(decision, tiers, rng, last_week=moment >= last_week) if gateway else {}
        )
        row = DecisionLog(
            id=uuid.uuid4(),
            router_id=router.pk,
            query=query,
            user_ref=f"demo-user-{rng.randint(1, 120)}",
            session_ref=f"demo-session-{rng.randint(1, 900)}",
            metadata=MARK,
            trace=decision.trace,
            channel="gateway" if gateway else "api",
            reasked=rng.random() < 0.03,
            created_at=moment,
            **{
                **{name: getattr(decision, name) for name in DECISION_PUBLIC_FIELDS},
                # The demo router does not detect languages: a made-up mix, for the dashboards.
                "language": rng.choice(LANGUAGES),
                **facts,
            },
        )
        rows.append(row)
        draw = rng.random()
        rating = (
            "down"
            if draw < (0.09 if row.intent is None else 0.04)
            else "up"
            if draw < 0.14
            else None
        )
        if rating:
            feedback.append(Feedback(decision_id=row.id, rating=rating, comment=FEEDBACK_COMMENT))
    with transaction.atomic():
        for start in range(0, len(rows), 500):
            decision_rows_write(rows[start : start + 500])
        Feedback.objects.bulk_create(feedback, batch_size=1000)
        thumbs_down = [ReviewReason.THUMBS_DOWN]
        rows_intake(
            rows,
            extra_reasons={
                entry.decision_id: thumbs_down for entry in feedback if entry.rating == "down"
            },
        )
    report = rollup_run(router_ids=[router.pk], now=now)
    out_of_scope_clusters_compute(router=router, now=now)
    return DemoTrafficReport(len(rows), len(feedback), report.hours_rewritten)


def demo_traffic_remove(*, router: Router | None = None) -> tuple[int, int]:
    """Delete every demo decision and its feedback, then re-roll the hours they were in."""
    decisions = DecisionLog.objects.filter(metadata__demo=MARK["demo"])
    if router is not None:
        decisions = decisions.filter(router=router)
    router_ids = list(decisions.values_list("router_id", flat=True).distinct())
    with transaction.atomic():
        feedback = Feedback.objects.filter(
            decision_id__in=decisions.values("id"), comment=FEEDBACK_COMMENT
        ).delete()[0]
        review_decisions_remove(decision_ids=decisions.values("id"))
        removed = decisions.delete()[1].get(DecisionLog._meta.label, 0)
    if router_ids:
        rollup_run(router_ids=router_ids)
        for router_id in router_ids:
            out_of_scope_clusters_compute(router=Router.objects.get(pk=router_id))
    return removed, feedback
