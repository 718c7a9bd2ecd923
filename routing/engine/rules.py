"""Keyword and regex rules, compiled once per snapshot and evaluated before any model runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import regex

from .errors import SnapshotError
from .snapshot import RULE_ACTIONS, RULE_KINDS, RULE_SCOPES, RuleSpec

MAX_RULES_PER_ROUTER = 200

# Per-rule search budget: a catastrophically backtracking pattern gives up instead of hanging.
# A busy CPU can push even a trivial search past the first budget, so a timeout is retried once
# with the longer one before the rule counts as timed out (worst case ~0.1 s per bad rule).
REGEX_TIMEOUT_SECONDS = 0.005
REGEX_RETRY_TIMEOUT_SECONDS = 0.1
# Total rules time per query: once spent, the remaining rules are skipped (and named in the
# trace), so many bad rules cost one budget, not one timeout each.
RULES_BUDGET_SECONDS = 0.5
# And per request: a batch of queries never spends more than this on rules in total.
RULES_REQUEST_BUDGET_SECONDS = 2.0
# Conversation rules search at most this many earlier user turns (the most recent ones).
MAX_EARLIER_TURNS = 20


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    pattern: regex.Pattern


@dataclass(slots=True)
class RuleOutcome:
    """What the rules decided for one query."""

    matched: list[RuleSpec] = field(default_factory=list)
    decisive: RuleSpec | None = None  # highest-priority matching "route" or "block" rule
    min_tiers: list[str] = field(default_factory=list)  # tiers forced by "min_tier" rules
    timed_out: list[int] = field(default_factory=list)  # ids of rules that hit the timeout
    over_budget: list[int] = field(default_factory=list)  # ids skipped: the budget was spent
    in_earlier_turns: list[int] = field(default_factory=list)  # ids matched before the last turn
    searches: int = 0  # regex searches run, retries included


def compile_rule(spec: RuleSpec) -> CompiledRule:
    """Compile one rule; keywords match whole words, both kinds are case-insensitive."""
    if spec.kind not in RULE_KINDS:
        raise SnapshotError(f"rule {spec.id}: unknown kind {spec.kind!r} (valid: {RULE_KINDS})")
    if spec.action not in RULE_ACTIONS:
        raise SnapshotError(
            f"rule {spec.id}: unknown action {spec.action!r} (valid: {RULE_ACTIONS})"
        )
    if spec.scope not in RULE_SCOPES:
        raise SnapshotError(f"rule {spec.id}: unknown scope {spec.scope!r} (valid: {RULE_SCOPES})")
    if not spec.pattern:
        raise SnapshotError(f"rule {spec.id}: empty pattern")
    if spec.kind == "keyword":
        # Word boundaries that also work when the keyword starts or ends with punctuation.
        source = r"(?<!\w)" + regex.escape(spec.pattern.strip()) + r"(?!\w)"
    else:
        source = spec.pattern
    try:
        pattern = regex.compile(source, regex.IGNORECASE)
    except regex.error as error:
        raise SnapshotError(f"rule {spec.id}: invalid regex {spec.pattern!r}: {error}") from error
    return CompiledRule(spec=spec, pattern=pattern)


def compile_rules(specs: tuple[RuleSpec, ...]) -> list[CompiledRule]:
    """Compile all rules, highest priority first (ties by id, so the order is stable).

    More than MAX_RULES_PER_ROUTER rules is a SnapshotError: the rules stage must stay cheap.
    """
    if len(specs) > MAX_RULES_PER_ROUTER:
        raise SnapshotError(
            f"{len(specs)} rules; a router may have at most {MAX_RULES_PER_ROUTER} enabled rules"
        )
    ordered = sorted(specs, key=lambda spec: (-spec.priority, spec.id))
    return [compile_rule(spec) for spec in ordered]


def _search(pattern: regex.Pattern, query: str, deadline: float, outcome: RuleOutcome) -> bool:
    """Search within the per-rule timeout, retried once with the longer one, never past `deadline`."""
    for timeout in (REGEX_TIMEOUT_SECONDS, REGEX_RETRY_TIMEOUT_SECONDS):
        remaining = deadline - time.monotonic()
        if remaining < REGEX_TIMEOUT_SECONDS:
            break
        outcome.searches += 1
        try:
            return pattern.search(query, timeout=min(timeout, remaining)) is not None
        except TimeoutError:
            continue
    raise TimeoutError


def _found_in(
    pattern: regex.Pattern, texts: Sequence[str], deadline: float, outcome: RuleOutcome
) -> int | None:
    """The index of the first text the pattern matches (None: none does); TimeoutError as
    `_search`."""
    for index, text in enumerate(texts):
        if _search(pattern, text, deadline, outcome):
            return index
    return None


def evaluate_rules(
    rules: list[CompiledRule],
    query: str,
    *,
    earlier_turns: Sequence[str] = (),
    budget_seconds: float = RULES_BUDGET_SECONDS,
) -> RuleOutcome:
    """Run every rule over `query`; the first matching route/block rule decides.

    A rule with scope "conversation" also matches when its pattern is in one of
    `earlier_turns` (the conversation's user turns before `query`, oldest first); its id
    is then in `in_earlier_turns` too.

    A rule that times out is recorded; a timed-out "min_tier" rule still applies (it can only
    raise quality), while a timed-out "route" or "block" rule is skipped. Once `budget_seconds`
    are spent, the remaining rules are skipped the same way and listed in `over_budget`.
    """
    outcome = RuleOutcome()
    deadline = time.monotonic() + budget_seconds
    conversation = (query, *earlier_turns)
    for rule in rules:
        if time.monotonic() + REGEX_TIMEOUT_SECONDS > deadline:
            outcome.over_budget.append(rule.spec.id)
            if rule.spec.action == "min_tier":
                outcome.min_tiers.append(rule.spec.tier)
            continue
        texts = conversation if rule.spec.scope == "conversation" else conversation[:1]
        try:
            found = _found_in(rule.pattern, texts, deadline, outcome)
        except TimeoutError:
            outcome.timed_out.append(rule.spec.id)
            if rule.spec.action == "min_tier":
                outcome.min_tiers.append(rule.spec.tier)
            continue
        if found is None:
            continue
        outcome.matched.append(rule.spec)
        if found > 0:
            outcome.in_earlier_turns.append(rule.spec.id)
        if rule.spec.action == "min_tier":
            outcome.min_tiers.append(rule.spec.tier)
        elif outcome.decisive is None:
            outcome.decisive = rule.spec
    return outcome
