"""Which tiers a request may go to, in order: the routed tier, then the stronger ones.

Pure functions over the engine's TierSpecs. Escalation never goes to a weaker tier (that would
degrade quality silently), and a conversation's floor (its previous turn's tier) lifts the start.
"""

from __future__ import annotations

from collections.abc import Sequence

from routing.engine.snapshot import TierSpec

CHARS_PER_TOKEN = 4  # a rough estimate for the context-window check (no tokenizer per provider)
TOKENS_PER_MESSAGE = 4


def _strength(tier: TierSpec) -> tuple:
    return (tier.quality, tier.rank)


def escalation_ladder(
    tiers: Sequence[TierSpec], *, routed: str | None, floor: str | None = None
) -> list[TierSpec]:
    """The routed tier (or the floor tier when that is stronger), then every stronger enabled
    tier from the weakest up (quality, then rank, then price)."""
    enabled = [tier for tier in tiers if tier.enabled]
    by_name = {tier.name: tier for tier in enabled}
    start = by_name.get(routed or "")
    floor_tier = by_name.get(floor or "")
    if floor_tier is not None and (start is None or _strength(floor_tier) > _strength(start)):
        start = floor_tier
    if start is None:
        return []
    stronger = sorted(
        (tier for tier in enabled if tier is not start and _strength(tier) >= _strength(start)),
        key=lambda tier: (*_strength(tier), tier.price_in_per_mtok + tier.price_out_per_mtok),
    )
    return [start, *stronger]


def estimated_prompt_tokens(messages: Sequence[dict]) -> int:
    """About how many tokens the messages are (characters / 4, plus a few per message)."""
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(str(part.get("text", ""))) for part in content)
        chars += sum(len(str(call)) for call in message.get("tool_calls") or ())
    return chars // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE * len(messages)


def skip_reason(
    tier: TierSpec, *, needs_tools: bool, prompt_tokens: int, max_tokens: int | None
) -> tuple[str, str]:
    """("skipped_tools"|"skipped_context", why) when `tier` cannot take the request, else ("", "")."""
    if needs_tools and not tier.supports_tools:
        return "skipped_tools", "the request has tools and this tier does not take them"
    needed = prompt_tokens + (max_tokens or 0)
    if tier.context_window and needed > tier.context_window:
        return (
            "skipped_context",
            f"about {needed} tokens needed; the context window is {tier.context_window}",
        )
    return "", ""
