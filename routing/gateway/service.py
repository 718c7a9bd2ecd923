"""One gateway request: route, call the routed tier, escalate, stream, record once at the end.

Escalation (to the next tier of `ladder.escalation_ladder`) happens on a failure before the first
byte (connection, timeout, 429, 5xx, open circuit, missing key) and on an unusable answer (empty,
truncated by the token limit, a refusal, invalid JSON when JSON was asked); a tier that cannot
take the request (tools, context window) is skipped. When every tier gave an unusable answer the
last one is returned; when none answered at all, NoTierAnswered (503) names each tier and why.
A stream is committed to a tier at its first delta; a break after that ends the stream with the
SSE error event (see README) and `data: [DONE]`.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from routing.decide import ExperimentAssignment, decide_for_caller
from routing.decision_hooks import hooks
from routing.engine import Decision
from routing.engine.context import RetrievedContext
from routing.engine.snapshot import TierSpec
from routing.models import Router
from routing.providers import ChatDelta, ChatOptions, ProviderError
from routing.providers.calls import (
    CallReport,
    call_cost_usd,
    tier_client,
    tier_complete,
    tier_stream,
    usage_add,
)
from routing.snapshots import compiled_router

from . import answers
from .errors import NoTierAnswered
from .ladder import escalation_ladder, estimated_prompt_tokens, skip_reason

logger = logging.getLogger("semroute.gateway")

# No request takes longer than this, whatever the tiers' own timeouts (streams included).
DEFAULT_BUDGET_SECONDS = 120.0
SESSION_TTL_SECONDS = 6 * 3600
BLOCKED_ANSWER = "This request was blocked by the router's rules."


def budget_seconds() -> float:
    return float(getattr(settings, "SEMROUTE_GATEWAY_BUDGET_SECONDS", DEFAULT_BUDGET_SECONDS))


@dataclass(slots=True)
class GatewayRequest:
    router: Router
    query: str  # the conversation's last user turn: what is routed
    messages: list[dict]
    options: ChatOptions
    principal: Any = None
    user_ref: str | None = None
    session_ref: str | None = None
    metadata: dict | None = None
    channel: str = "gateway"
    include_usage: bool = False
    context: RetrievedContext | None = None  # what the app retrieved: complexity and cost
    earlier_turns: tuple[str, ...] = ()  # the user turns before `query`: conversation rules


@dataclass(slots=True)
class GatewayRun:
    """What one request decided and did; its facts go on the decision log once, at the end."""

    request: GatewayRequest
    decision: Decision
    experiment: ExperimentAssignment | None
    decision_id: uuid.UUID
    ladder: list[TierSpec]
    deadline: float
    attempts: list[dict] = field(default_factory=list)
    answer_tier: TierSpec | None = None
    answer_attempt: dict | None = None
    answer_text: str = ""
    recorded: bool = False
    completion_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")

    @property
    def escalations(self) -> int:
        """Tiers passed over before the one that answered (skips and failures)."""
        if self.answer_attempt is None:
            return len(self.attempts)
        return self.attempts.index(self.answer_attempt)

    def routing_facts(self) -> dict:
        """The `semroute` object of the body / final chunk (and the x-semroute-* headers)."""
        return {
            "decision_id": str(self.decision_id),
            "router": self.request.router.slug,
            "intent": self.decision.intent,
            "handler": self.decision.handler,
            "routed_tier": self.decision.tier,
            "tier": self.answer_tier.name if self.answer_tier else None,
            "escalations": self.escalations,
            "blocked": self.decision.blocked,
            "attempts": self.attempts,
            "experiment": self.experiment.as_dict() if self.experiment else None,
        }

    def headers(self) -> dict[str, str]:
        facts = self.routing_facts()
        return {
            "x-semroute-decision-id": facts["decision_id"],
            "x-semroute-intent": facts["intent"] or "",
            "x-semroute-handler": facts["handler"] or "",
            "x-semroute-tier": facts["tier"] or "",
            "x-semroute-escalations": str(facts["escalations"]),
            "x-semroute-arm": self.experiment.arm if self.experiment else "",
        }


def _session_key(router: Router, session_ref: str) -> str:
    digest = hashlib.blake2b(session_ref.encode("utf-8"), digest_size=12).hexdigest()
    return f"semroute:session_tier:{router.pk}:{digest}"


def gateway_start(request: GatewayRequest) -> GatewayRun:
    """Route the request and lay out the tiers to try (the session's floor lifts the start)."""
    # The same arm assignment as the route API: sticky by user, else session, else per request.
    (decision,), experiment = decide_for_caller(
        router=request.router,
        queries=[request.query],
        user_id=request.user_ref,
        session_id=request.session_ref,
        allow_stale=True,
        contexts=[request.context],
        conversations=[request.earlier_turns],
    )
    tiers = compiled_router(request.router, allow_stale=True).snapshot.tiers
    floor = (
        cache.get(_session_key(request.router, request.session_ref))
        if request.session_ref
        else None
    )
    ladder = [] if decision.blocked else escalation_ladder(tiers, routed=decision.tier, floor=floor)
    if request.session_ref and ladder:
        cache.set(
            _session_key(request.router, request.session_ref), ladder[0].name, SESSION_TTL_SECONDS
        )
    return GatewayRun(
        request=request,
        decision=decision,
        experiment=experiment,
        decision_id=uuid.uuid4(),
        ladder=ladder,
        deadline=time.monotonic() + budget_seconds(),
    )


def _attempt(tier: TierSpec, outcome: str, error: str = "", **facts) -> dict:
    return {
        "tier": tier.name,
        "model": tier.model,
        "provider": tier.provider,
        "outcome": outcome,
        "latency_ms": facts.get("latency_ms"),
        "ttft_ms": facts.get("ttft_ms"),
        "prompt_tokens": facts.get("prompt_tokens"),
        "completion_tokens": facts.get("completion_tokens"),
        "cost_usd": facts.get("cost_usd"),
        "error": error[:300],
        **({"retries": facts["retries"]} if facts.get("retries") else {}),
        **({"note": facts["note"]} if facts.get("note") else {}),
    }


def _failed_attempt(tier: TierSpec, error: ProviderError, started: float, report) -> dict:
    """The attempt of a call that raised before answering (`started`: its perf_counter)."""
    latency = (time.perf_counter() - started) * 1000
    return _attempt(tier, error.outcome, str(error), latency_ms=latency, retries=report.waits)


def _tiers_to_call(run: GatewayRun) -> Iterator[tuple[TierSpec, str]]:
    """Each tier that can take the request, with the note of parameters it drops; skips recorded."""
    options = run.request.options
    prompt_tokens = estimated_prompt_tokens(run.request.messages)
    for tier in run.ladder:
        outcome, why = skip_reason(
            tier,
            needs_tools=bool(options.tools),
            prompt_tokens=prompt_tokens,
            max_tokens=options.max_tokens,
        )
        if outcome:
            run.attempts.append(_attempt(tier, outcome, why))
            continue
        try:
            dropped = tier_client(tier).dropped_options(options)
        except ProviderError as error:
            run.attempts.append(_attempt(tier, error.outcome, str(error)))
            continue
        note = (
            f"dropped parameters this provider does not take: {', '.join(dropped)}"
            if dropped
            else ""
        )
        yield tier, note


def _no_tier_answered(run: GatewayRun) -> NoTierAnswered:
    tried = [
        {"tier": a["tier"], "outcome": a["outcome"], "error": a["error"]} for a in run.attempts
    ]
    if not run.ladder:
        reason = "no enabled tier qualifies for this request"
    else:
        reason = "; ".join(f"{a['tier']}: {a['outcome']} ({a['error']})" for a in tried)
    return NoTierAnswered(
        f"No tier could answer: {reason}.",
        details={"decision_id": str(run.decision_id), "attempts": tried},
    )


def gateway_complete(run: GatewayRun) -> dict:
    """The non-streamed answer as OpenAI's chat.completion body (recorded before it returns)."""
    if run.decision.blocked:
        return _blocked_body(run)
    options = run.request.options
    json_wanted = options.json_mode or answers.json_requested(options.response_format)
    last_unusable = None
    for tier, note in _tiers_to_call(run):
        report, started = CallReport(), time.perf_counter()
        try:
            completion = tier_complete(
                tier, run.request.messages, options, deadline=run.deadline, report=report
            )
        except ProviderError as error:
            run.attempts.append(_failed_attempt(tier, error, started, report))
            continue
        latency = (time.perf_counter() - started) * 1000
        cost = call_cost_usd(tier, completion.input_tokens, completion.output_tokens)
        usage_add(scope=run.request.router.slug, tier_name=tier.name, cost_usd=cost)
        problem = answers.completion_unusable(completion, json_wanted=json_wanted)
        attempt = _attempt(
            tier,
            problem or "ok",
            latency_ms=latency,
            ttft_ms=latency,
            prompt_tokens=completion.input_tokens,
            completion_tokens=completion.output_tokens,
            cost_usd=cost,
            retries=report.waits,
            note=note,
        )
        run.attempts.append(attempt)
        last_unusable = (tier, attempt, completion)
        if not problem:
            break
    if last_unusable is None:
        error = _no_tier_answered(run)
        gateway_record(run)
        raise error
    run.answer_tier, run.answer_attempt, completion = last_unusable
    run.answer_text = completion.content or ""
    gateway_record(run)
    return answers.completion_body(
        completion_id=run.completion_id,
        model=completion.model,
        content=completion.content,
        finish_reason=completion.finish_reason,
        tool_calls=completion.tool_calls,
        prompt_tokens=completion.input_tokens,
        completion_tokens=completion.output_tokens,
        semroute=run.routing_facts(),
    )


def _blocked_body(run: GatewayRun) -> dict:
    run.answer_text = run.decision.block_reason or BLOCKED_ANSWER
    gateway_record(run)
    return answers.completion_body(
        completion_id=run.completion_id,
        model=f"semroute/{run.request.router.slug}",
        content=run.answer_text,
        finish_reason="stop",
        prompt_tokens=0,
        completion_tokens=0,
        semroute=run.routing_facts(),
    )


@dataclass(slots=True)
class OpenStream:
    """A stream committed to one tier: its first delta came, the rest is still upstream."""

    tier: TierSpec | None
    first: ChatDelta | None
    rest: Iterator[ChatDelta]
    started: float
    ttft_ms: float | None
    note: str = ""
    waits: list = field(default_factory=list)


def gateway_stream_open(run: GatewayRun) -> OpenStream:
    """Find the tier that streams: escalate until one sends a usable first delta (503 if none)."""
    if run.decision.blocked:
        run.answer_text = run.decision.block_reason or BLOCKED_ANSWER
        return OpenStream(
            None, ChatDelta(content=run.answer_text), iter(()), time.perf_counter(), 0.0
        )
    options = run.request.options
    for tier, note in _tiers_to_call(run):
        report, started = CallReport(), time.perf_counter()
        try:
            first, rest = tier_stream(
                tier, run.request.messages, options, deadline=run.deadline, report=report
            )
        except ProviderError as error:
            run.attempts.append(_failed_attempt(tier, error, started, report))
            continue
        if first.finish_reason:  # the stream ended before any content: nothing was sent yet
            problem = answers.unusable_reason(
                content="",
                finish_reason=first.finish_reason,
                refusal=first.refusal,
                tool_calls=(),
                json_wanted=False,
            )
            cost = call_cost_usd(tier, first.input_tokens or 0, first.output_tokens or 0)
            run.attempts.append(
                _attempt(
                    tier,
                    problem or "empty",
                    latency_ms=report.ttft_ms,
                    cost_usd=cost,
                    prompt_tokens=first.input_tokens,
                    completion_tokens=first.output_tokens,
                )
            )
            continue
        if first.refusal:
            rest.close()
            run.attempts.append(_attempt(tier, "refusal", latency_ms=report.ttft_ms))
            continue
        run.answer_tier = tier  # committed: the headers name it before the first byte
        return OpenStream(tier, first, rest, started, report.ttft_ms, note, report.waits)
    error = _no_tier_answered(run)
    gateway_record(run)
    raise error


def gateway_stream_events(run: GatewayRun, opened: OpenStream) -> Iterator[bytes]:
    """The SSE body: chunks in OpenAI's format, the final one with `semroute`; recorded once."""
    model = opened.tier.model if opened.tier else f"semroute/{run.request.router.slug}"
    cid = run.completion_id
    progress = {"pieces": [], "sent": 0, "final": None, "finish_reason": ""}
    try:
        error = None
        try:
            yield answers.sse(answers.chunk(cid, model, {"role": "assistant", "content": ""}))
            yield from _content_events(run, opened, model, progress)
        except ProviderError as broken:
            error = broken
        _stream_end(run, opened, progress, error)
        # The answer has ended upstream: recorded before the last events, so a client that
        # read [DONE] finds its decision (the finally covers a client that went away).
        facts = run.routing_facts()
        gateway_record(run)
        if error is not None:
            event = _stream_error_event(run, opened, error, progress["sent"])
            yield answers.sse(event, event="error")
        else:
            yield from _final_events(run, cid, model, progress["finish_reason"], facts)
        yield answers.SSE_DONE
    finally:
        if not run.recorded:  # the client went away mid-stream
            _stream_end(run, opened, progress, ProviderError("the client disconnected"))
            gateway_record(run)


def _content_events(run: GatewayRun, opened: OpenStream, model: str, progress: dict):
    deltas = [opened.first] if opened.first else []
    for delta in _chained(deltas, opened.rest, run.deadline):
        if delta.finish_reason:
            progress["finish_reason"], progress["final"] = delta.finish_reason, delta
            continue
        body: dict = {}
        if delta.content:
            body["content"] = delta.content
            progress["pieces"].append(delta.content)
        if delta.tool_calls:
            body["tool_calls"] = list(delta.tool_calls)
        if body:
            progress["sent"] += 1
            yield answers.sse(answers.chunk(run.completion_id, model, body))
    if opened.tier is None:
        progress["finish_reason"] = "stop"


def _stream_end(run: GatewayRun, opened: OpenStream, progress: dict, error) -> None:
    if run.answer_attempt is not None:
        return
    run.answer_text = "".join(progress["pieces"])
    _stream_attempt(run, opened, progress["final"], error, progress["finish_reason"])


def _final_events(run: GatewayRun, cid: str, model: str, finish_reason: str, facts: dict):
    last = answers.chunk(cid, model, {}, finish_reason=finish_reason or "stop")
    if not run.request.include_usage:
        yield answers.sse({**last, "semroute": facts})
        return
    usage = run.answer_attempt or {}
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    usage_chunk = {**answers.chunk(cid, model, {}), "choices": []}
    usage_chunk["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    yield answers.sse(last)
    yield answers.sse({**usage_chunk, "semroute": facts})


def _chained(first: list[ChatDelta], rest: Iterator[ChatDelta], deadline: float):
    yield from first
    for delta in rest:
        yield delta
        if time.monotonic() > deadline:
            rest.close()
            raise ProviderError("the gateway's time budget ran out mid-stream", outcome="timeout")


def _stream_attempt(run, opened: OpenStream, final, error, finish_reason: str) -> None:
    if opened.tier is None:
        return
    tier = opened.tier
    latency = (time.perf_counter() - opened.started) * 1000
    prompt = final.input_tokens if final and final.input_tokens is not None else None
    completion = final.output_tokens if final and final.output_tokens is not None else None
    note = opened.note
    if prompt is None or completion is None:  # the upstream reported no usage: estimate it
        prompt = estimated_prompt_tokens(run.request.messages) if prompt is None else prompt
        completion = len(run.answer_text) // 4 if completion is None else completion
        note = (note + "; " if note else "") + "usage estimated (the stream reported none)"
    cost = call_cost_usd(tier, prompt, completion)
    usage_add(scope=run.request.router.slug, tier_name=tier.name, cost_usd=cost)
    outcome = (
        "stream_broken"
        if error is not None
        else ("truncated" if finish_reason == "length" else "ok")
    )
    if error is not None and error.outcome == "timeout":
        outcome = "timeout"
    attempt = _attempt(
        tier,
        outcome,
        str(error) if error else "",
        latency_ms=latency,
        ttft_ms=opened.ttft_ms,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=cost,
        retries=opened.waits,
        note=note,
    )
    run.attempts.append(attempt)
    run.answer_tier, run.answer_attempt = tier, attempt


def _stream_error_event(
    run: GatewayRun, opened: OpenStream, error: ProviderError, sent: int
) -> dict:
    """The documented SSE error event: the stream broke after `sent` chunks reached the client."""
    return {
        "error": {
            "message": f"The answer from tier {opened.tier.name} broke off after {sent} chunk(s): "
            f"{error}. The text so far is incomplete; ask again.",
            "type": "upstream_error",
            "code": "stream_broken" if error.outcome != "timeout" else "stream_timeout",
            "param": None,
            "details": {
                "decision_id": str(run.decision_id),
                "tier": opened.tier.name,
                "chunks": sent,
            },
        }
    }


def gateway_facts(run: GatewayRun) -> dict:
    answered = run.answer_attempt or {}
    costs = [a["cost_usd"] for a in run.attempts if a.get("cost_usd") is not None]
    return {
        "attempts": run.attempts,
        "answer_tier": run.answer_tier.name if run.answer_tier else None,
        "escalations": run.escalations,
        "actual_cost_usd": round(sum(costs), 8)
        if costs
        else (0.0 if run.decision.blocked else None),
        "provider_latency_ms": answered.get("latency_ms"),
        "ttft_ms": answered.get("ttft_ms"),
        "prompt_tokens": answered.get("prompt_tokens"),
        "completion_tokens": answered.get("completion_tokens"),
    }


def gateway_record(run: GatewayRun) -> None:
    """Log the decision once with everything the gateway did, then tell the judge's hook."""
    if run.recorded:
        return
    run.recorded = True
    request = run.request
    if request.session_ref and run.answer_tier is not None:
        # The floor is the tier that answered: an escalated turn lifts the conversation's floor
        # (the ladder only climbs from the floor, so this never lowers it).
        cache.set(
            _session_key(request.router, request.session_ref),
            run.answer_tier.name,
            SESSION_TTL_SECONDS,
        )
    hooks.record(
        router=request.router,
        queries=[request.query],
        decisions=[run.decision],
        principal=request.principal,
        user_ref=request.user_ref,
        session_ref=request.session_ref,
        metadata=request.metadata,
        channel=request.channel,
        decision_ids=[run.decision_id],
        gateway_facts=gateway_facts(run),
        experiment_id=run.experiment.id if run.experiment else None,
        experiment_arm=run.experiment.arm if run.experiment else "",
    )
    try:
        hooks.gateway_answered(
            router=request.router,
            decision_id=run.decision_id,
            decision=run.decision,
            messages=request.messages,
            answer=run.answer_text,
            tier=run.answer_tier.name if run.answer_tier else None,
        )
    except Exception:  # the judge's hook must never break an answer
        logger.exception("gateway_answered hook failed for decision %s", run.decision_id)
