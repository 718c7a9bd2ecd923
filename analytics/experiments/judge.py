"""LLM-as-judge: a sample of gateway answers from tiers below the most expensive one is answered
again by the most expensive tier, off the request path, and a judge tier compares the two.

The prompt is fixed (JUDGE_SYSTEM_PROMPT, JUDGE_USER_TEMPLATE) and pairwise: the two answers are
shown as A and B in a random order, recorded per verdict, so position bias is measured
(`position_bias`). Temperature 0, a JSON reply `{"verdict": "A" | "B" | "same", "reason": ...}`
parsed strictly: anything else is kept as an `invalid` verdict with the raw reply, never a crash.
"""

from __future__ import annotations

import json
import logging
import random
import re
import uuid
from typing import Any

from django.utils import timezone

from analytics.experiments.budget import budget_left, judge_settings, spend_add
from analytics.experiments.models import JudgeVerdict, Verdict
from analytics.outcomes.services import OutcomeRefused, outcome_record
from routing.engine.snapshot import TierSpec
from routing.engine.tier_policy import most_expensive_tier, tier_cost_usd
from routing.models import Router
from routing.providers import ProviderError, chat_client_for
from routing.snapshots import compiled_router
from semroute_site.celery import task_send_unawaited

logger = logging.getLogger("semroute.judge")

CALL_TIMEOUT_SECONDS = 60.0
JUDGE_MAX_TOKENS = 300
MAX_ANSWER_CHARS = 20_000  # what is stored and shown to the judge of each answer

JUDGE_SYSTEM_PROMPT = (
    "You are an impartial judge comparing two assistant answers to the same conversation. "
    "Judge only how well each answer serves the user's last message: correctness first, then "
    "completeness and helpfulness. Ignore length and style unless they make an answer worse, and "
    "ignore the order in which the answers are shown. Reply with exactly one JSON object and "
    'nothing else: {"verdict": "A" | "B" | "same", "reason": "<one sentence>"}. '
    'Use "same" when the answers are equally good (or equally bad).'
)
JUDGE_USER_TEMPLATE = (
    "<conversation>\n{conversation}\n</conversation>\n\n"
    "<answer_a>\n{answer_a}\n</answer_a>\n\n"
    "<answer_b>\n{answer_b}\n</answer_b>"
)
POSITIONS = ("A", "B", "same")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_random = random.Random()


def message_text(content: Any) -> str:
    """A chat message's text: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def judge_messages(
    conversation: list[dict[str, Any]], answer_a: str, answer_b: str
) -> list[dict[str, str]]:
    """The judge's messages for one pair (A shown first)."""
    transcript = "\n".join(
        f"{message.get('role', 'user')}: {message_text(message.get('content'))}"
        for message in conversation
    )
    return [
        {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": JUDGE_USER_TEMPLATE.format(
                conversation=transcript, answer_a=answer_a, answer_b=answer_b
            ),
        },
    ]


def verdict_parse(reply: str | None) -> tuple[str | None, str, str]:
    """(position "A" | "B" | "same" or None, reason, error) from the judge's reply.

    Strict: one JSON object (a ```json fence around it is allowed) whose "verdict" is one of
    the three positions (any case) and whose "reason" is a string. Anything else: None + why.
    """
    text = (reply or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return None, "", f"not JSON: {error}"
    if not isinstance(parsed, dict):
        return None, "", "not a JSON object"
    verdict = parsed.get("verdict")
    if not isinstance(verdict, str):
        return None, "", "no string 'verdict'"
    position = {"a": "A", "b": "B", "same": "same"}.get(verdict.strip().lower())
    if position is None:
        return None, "", f"verdict {verdict[:40]!r} is not A, B or same"
    reason = parsed.get("reason", "")
    if not isinstance(reason, str):
        return None, "", "'reason' is not a string"
    return position, reason[:2000], ""


def sampled_verdict(position: str | None, *, sampled_first: bool) -> str:
    """The sampled answer's verdict against the strongest tier's: better, same, worse, invalid."""
    if position is None:
        return Verdict.INVALID
    if position == "same":
        return Verdict.SAME
    sampled_won = (position == "A") == sampled_first
    return Verdict.BETTER if sampled_won else Verdict.WORSE


def verdict_outcome(verdict: JudgeVerdict) -> tuple[str, str, bool] | None:
    """(query, tier, good) for outcome-learned routing: good = as good as the best tier or
    better. None for a verdict that is not usable (invalid, failed, not judged yet)."""
    if verdict.state != "done" or verdict.verdict not in (
        Verdict.BETTER,
        Verdict.SAME,
        Verdict.WORSE,
    ):
        return None
    return verdict.query, verdict.tier, verdict.verdict != Verdict.WORSE


def tier_complete(
    tier: TierSpec,
    messages: list[dict[str, Any]],
    *,
    json_mode: bool = False,
    max_tokens: int | None = None,
):
    """The one call to a tier's provider: the ChatClient protocol at temperature 0."""
    client = chat_client_for(tier)
    if client is None:
        raise ProviderError(f"tier {tier.name!r} has no usable key or provider")
    return client.complete(
        [{"role": m["role"], "content": message_text(m.get("content"))} for m in messages],
        timeout=CALL_TIMEOUT_SECONDS,
        temperature=0.0,
        json_mode=json_mode,
        max_tokens=max_tokens,
    )


def _tier_name(tier: Any) -> str:
    return tier if isinstance(tier, str) else getattr(tier, "name", "")


def strongest_tier(tiers) -> TierSpec | None:
    enabled = [tier for tier in tiers if tier.enabled]
    return most_expensive_tier(enabled, 1000, 1000) if enabled else None


def gateway_answered(
    *,
    router: Router,
    decision_id: uuid.UUID,
    decision,
    messages: list[dict[str, Any]],
    answer: str,
    tier: Any,
) -> None:
    """The hook the gateway calls after an answer: sample it for the judge (never raises)."""
    try:
        _sample(router, decision_id, decision, messages, answer, _tier_name(tier))
    except Exception:
        logger.exception("judge sampling failed for decision %s", decision_id)


def _sample(router, decision_id, decision, messages, answer, tier_name) -> None:
    """On the request path: the draw and what the cached settings tell; the rest in a task."""
    settings = judge_settings(router.pk)
    if not settings.enabled or _random.random() * 100 >= settings.sample_percent:
        return
    strongest = strongest_tier(compiled_router(router, allow_stale=True).snapshot.tiers)
    if strongest is None or not tier_name or tier_name == strongest.name or not answer:
        return  # only answers of a tier below the most expensive are judged
    from analytics.experiments.tasks import judge_sample_task

    task_send_unawaited(
        judge_sample_task,
        router.pk,
        str(decision_id),
        getattr(decision, "intent", None),
        messages,
        answer[:MAX_ANSWER_CHARS],
        tier_name,
    )


def judge_sample_queue(
    *,
    router_id: int,
    decision_id: uuid.UUID,
    intent: str | None,
    messages: list[dict[str, Any]],
    answer: str,
    tier_name: str,
) -> JudgeVerdict | None:
    """Queue a sampled answer for the judge (once per decision) while today's budget lasts; the
    new verdict row, or None when over budget or already queued."""
    if not budget_left(router_id):
        spend_add(router_id=router_id, skipped=1)
        return None
    user_turns = [m for m in messages if m.get("role") == "user"]
    verdict, created = JudgeVerdict.objects.get_or_create(
        decision_id=decision_id,
        defaults={
            "router_id": router_id,
            "query": message_text(user_turns[-1].get("content")) if user_turns else "",
            "messages": messages,
            "intent": intent,
            "tier": tier_name,
            "answer": answer[:MAX_ANSWER_CHARS],
            "sampled_first": _random.random() < 0.5,
        },
    )
    return verdict if created else None


def judge_verdict_execute(*, verdict_id: int) -> JudgeVerdict | None:
    """Answer with the strongest tier, ask the judge, store the verdict (once: claims the row)."""
    claimed = JudgeVerdict.objects.filter(pk=verdict_id, state="queued").update(state="running")
    if not claimed:
        return JudgeVerdict.objects.filter(pk=verdict_id).first()
    verdict = JudgeVerdict.objects.select_related("router").get(pk=verdict_id)
    tiers = compiled_router(verdict.router).snapshot.tiers
    strongest = strongest_tier(tiers)
    chosen = judge_settings(verdict.router_id).judge_tier
    judge = next((t for t in tiers if t.name == chosen and t.enabled), None) or strongest
    cost = 0.0
    try:
        if strongest is None or judge is None:
            raise ProviderError("the router has no enabled tier to answer or judge")
        strong = tier_complete(strongest, verdict.messages)
        cost += tier_cost_usd(strongest, strong.input_tokens, strong.output_tokens)
        strong_answer = (strong.content or "")[:MAX_ANSWER_CHARS]
        first, second = (
            (verdict.answer, strong_answer)
            if verdict.sampled_first
            else (strong_answer, verdict.answer)
        )
        reply = tier_complete(
            judge,
            judge_messages(verdict.messages, first, second),
            json_mode=True,
            max_tokens=JUDGE_MAX_TOKENS,
        )
        cost += tier_cost_usd(judge, reply.input_tokens, reply.output_tokens)
    except ProviderError as error:
        verdict.state, verdict.error = "failed", str(error)[:2000]
        verdict.cost_usd = cost
        verdict.save(update_fields=["state", "error", "cost_usd"])
        spend_add(router_id=verdict.router_id, judge_usd=cost)
        return verdict
    position, reason, error = verdict_parse(reply.content)
    verdict.strong_tier, verdict.strong_answer, verdict.judge_tier = (
        strongest.name,
        strong_answer,
        judge.name,
    )
    verdict.preferred_position = position or ""
    verdict.verdict = sampled_verdict(position, sampled_first=verdict.sampled_first)
    verdict.reason, verdict.error = reason, error
    verdict.raw_reply = (reply.content or "")[:4000]
    verdict.cost_usd, verdict.state, verdict.judged_at = cost, "done", timezone.now()
    verdict.save()
    spend_add(router_id=verdict.router_id, judge_usd=cost, judge_calls=1)
    verdict_outcome_record(verdict)
    return verdict


def verdict_outcome_record(verdict: JudgeVerdict) -> None:
    """A usable verdict becomes an outcome label (source "judge") for outcome-learned routing."""
    labelled = verdict_outcome(verdict)
    if labelled is None:
        return
    query, tier, good = labelled
    try:
        outcome_record(
            router=verdict.router,
            query=query,
            tier=tier,
            good=good,
            source="judge",
            decision_id=verdict.decision_id,
        )
    except OutcomeRefused as refused:  # e.g. the tier was renamed since the answer
        logger.warning("judge verdict %s not kept as an outcome: %s", verdict.pk, refused)
