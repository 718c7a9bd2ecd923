"""Negation and contrast: is the top intent what the user asks for, or what they rule out?

An embedding captures topic, not logic: "I do NOT want to cancel my subscription" sits next to
"I want to cancel my subscription". This module finds *negated scopes* in a query and asks
whether the top intent's evidence lies inside them. Cheap and lexical, on purpose (microseconds).

Scopes. A query is cut into clauses at punctuation and contrast conjunctions ("but", "pero",
"mais", "aber", "mas"). Inside a clause, a scope runs from a cue to the clause's end:
- a negated wish: "don't want to", "no longer need", "not interested in", "no quiero",
  "ne veux pas", "não preciso", German "möchte ... nicht" / "will kein ...";
- a negated imperative at the clause's start: "don't ...", "never ...", "no cancelen ...";
- a contrast: "instead of", "rather than", "except", "en lugar de", "au lieu de", "statt",
  "em vez de" (what follows is what the user does not want).
A negated *ability* or *state* ("I can't log in", "it doesn't work") is not a cue: that is how
problems are reported, and it is the intent itself.

Evidence. Each intent's vocabulary: 5-letter stems of the words of its name and examples, less
stop words and stems shared by half the intents or more. The top intent is negated when its
evidence in negated scopes outweighs its evidence outside them. Without
any evidence in the query, it is negated when the scopes cover at least half its content words.

Examples win: when the top intent's nearest example is itself negated for that intent by the
same rule (an operator's `retention` intent with "I don't want to cancel"), the negation is the
intent's meaning, and the intent stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

STEM_CHARS = 5
MIN_WORD_CHARS = 3
# A stem in this share of the intents or more is not evidence for any one of them.
SHARED_STEM_SHARE = 0.5

_WISH = (
    r"want|wanna|need|wish|intend|plan(?:ning)?|mean|trying|looking|interested|asking|going|"
    r"like to|care to|asked|requested|agreed|authori[sz]ed"
)
_CUES = [
    # English: a negated wish, anywhere in the clause.
    rf"\b(?:(?:do|does|did|am|are|is|was|would|will|have)\s*n[o']?t|not|never|no longer|"
    rf"don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t)\s+(?:\w+\s+)?(?:{_WISH})\b",
    r"\bno (?:intention|interest|desire|need|plans?) (?:of|to|in)\b",
    # English: a negated imperative at the clause's start.
    r"^(?:please\s+|pls\s+|and\s+)?(?:do not|don'?t|never)\s+\w+",
    # Spanish.
    r"\b(?:no|nunca|ya no)\s+(?:\w+\s+)?(?:quiero|queremos|quiere|necesito|necesitamos|deseo|"
    r"pienso|pretendo|voy a|me interesa)\b",
    r"^(?:por favor\s+)?no\s+(?:me\s+|nos\s+|lo\s+|la\s+)?\w+(?:en|an|es|as)\b",
    # French.
    r"\b(?:ne|n')\s*(?:\w+\s+)?(?:veux|voulons|veut|voudrais|souhaite|souhaitons|désire|compte|"
    r"ai besoin|avons besoin)\s+(?:pas|plus|jamais)\b",
    r"\b(?:ne|n')\s*(?:veux|voulons|veut|voudrais|souhaite|souhaitons)\s+(?:pas|plus|jamais)\b",
    r"^(?:s'il vous plaît\s+|svp\s+)?(?:ne|n')\s*\w+(?:ez|e|es)\s+pas\b",
    # German: a wish verb and a negation in the same clause, in either order.
    r"\b(?:will|möchte|möchten|moechte|wollen|brauche|brauchen|habe vor)\b[^,.;!?]*?"
    r"\b(?:nicht|kein\w*|nie|niemals)\b",
    r"\b(?:nicht|kein\w*|nie|niemals)\b[^,.;!?]*?\b(?:will|möchte|möchten|wollen|brauche)\b",
    r"^(?:bitte\s+)?\w+en sie\b[^,.;!?]*\bnicht\b",
    # Portuguese.
    r"\b(?:não|nunca|já não)\s+(?:\w+\s+)?(?:quero|queremos|quer|preciso|precisamos|desejo|"
    r"pretendo|vou)\b",
    r"^(?:por favor\s+)?não\s+\w+(?:em|am|e|a)\b",
]
_CONTRAST = [
    r"\binstead of\b|\brather than\b|\bexcept\b|\bother than\b",
    r"\ben (?:lugar|vez) de\b|\bexcepto\b|\bsalvo\b",
    r"\bau lieu de\b|\bplutôt que\b|\bsauf\b",
    r"\b(?:an)?statt\b|\banstelle\b|\baußer\b|\bausser\b",
    r"\bem (?:vez|lugar) de\b|\bao invés de\b|\bexceto\b",
]
NEGATION_CUE = regex.compile("|".join(f"(?:{cue})" for cue in _CUES), regex.IGNORECASE)
CONTRAST_CUE = regex.compile("|".join(f"(?:{cue})" for cue in _CONTRAST), regex.IGNORECASE)
ANY_CUE = regex.compile(
    "|".join(f"(?:{cue})" for cue in [*_CUES, *_CONTRAST]), regex.IGNORECASE | regex.MULTILINE
)
CLAUSE_BREAK = regex.compile(
    r"[,.;:!?¿¡\n]+|\s(?:but|however|although|though|pero|sino|mais|aber|sondern|mas|porém)\s",
    regex.IGNORECASE,
)
_WORDS = regex.compile(r"\p{L}[\p{L}'-]*")
STOP_WORDS = frozenset(
    "the and for you your our are was were have has had this that with from what when where "
    "which who why how can could would should will shall may might must please pls just also "
    "very really there their them they then than into onto about been being does did doing "
    "dont don't want need like some any more most much many such only own same other "
    "i'm i've it's can't cannot won't isn't aren't wasn't didn't doesn't".split()
)


def stems(text: str) -> list[str]:
    """Lower-case 5-letter stems of the content words of `text`, in order."""
    found = []
    for word in _WORDS.findall(text.lower()):
        if len(word) >= MIN_WORD_CHARS and word not in STOP_WORDS:
            found.append(word[:STEM_CHARS])
    return found


def has_cue(text: str) -> bool:
    """Whether `text` carries any negation or contrast cue."""
    return ANY_CUE.search(text) is not None


def negated_spans(query: str) -> list[tuple[int, int, str]]:
    """(start, end, cue) of each negated scope of `query`: from a cue to its clause's end."""
    spans: list[tuple[int, int, str]] = []
    start = 0
    breaks = [
        *((m.start(), m.end()) for m in CLAUSE_BREAK.finditer(query)),
        (len(query), len(query)),
    ]
    for stop, after in breaks:
        clause = query[start:stop]
        if clause.strip():
            offset = len(clause) - len(clause.lstrip())
            body = clause.lstrip()
            for pattern in (NEGATION_CUE, CONTRAST_CUE):
                found = pattern.search(body)
                if found is not None:
                    spans.append((start + offset + found.start(), stop, found.group()))
                    break
        start = after
    return spans


@dataclass(frozen=True, slots=True)
class NegationCheck:
    negated: bool
    cue: str = ""
    reason: str = ""


class EvidenceIndex:
    """Each intent's vocabulary of stems, built once per compiled router."""

    def __init__(self, intent_names: Sequence[str], example_texts: Iterable[str], example_intents):
        vocabulary: dict[str, set[str]] = {
            name: set(stems(name.replace("_", " "))) for name in intent_names
        }
        for text, intent in zip(example_texts, example_intents, strict=True):
            vocabulary[intent].update(stems(text))
        share: dict[str, int] = {}
        for words in vocabulary.values():
            for stem in words:
                share[stem] = share.get(stem, 0) + 1
        limit = max(2, SHARED_STEM_SHARE * len(intent_names))
        self.vocabulary = {
            name: frozenset(stem for stem in words if share[stem] < limit)
            for name, words in vocabulary.items()
        }

    def check(self, query: str, intent: str, nearest_example: str | None = None) -> NegationCheck:
        """Whether `intent` is what `query` rules out (see the module docstring)."""
        spans = negated_spans(query)
        if not spans:
            return NegationCheck(False)
        if nearest_example is not None:
            example_spans = negated_spans(nearest_example)
            if self._scoped(nearest_example, intent, example_spans).negated:
                return NegationCheck(
                    False,
                    spans[0][2],
                    f"its nearest example is negated the same way: {nearest_example!r}",
                )
        return self._scoped(query, intent, spans)

    def _scoped(self, query: str, intent: str, spans: list[tuple[int, int, str]]) -> NegationCheck:
        """Whether the negated `spans` of `query` hold more of `intent`'s evidence than the rest."""
        if not spans:
            return NegationCheck(False)
        cue = spans[0][2]
        vocabulary = self.vocabulary.get(intent, frozenset())
        inside = outside = covered = content = 0
        for found in _WORDS.finditer(query.lower()):
            word = found.group()
            if len(word) < MIN_WORD_CHARS or word in STOP_WORDS:
                continue
            content += 1
            in_scope = any(start <= found.start() < end for start, end, _ in spans)
            covered += in_scope
            if word[:STEM_CHARS] in vocabulary:
                if in_scope:
                    inside += 1
                else:
                    outside += 1
        if inside or outside:
            if inside > outside:
                return NegationCheck(
                    True, cue, f"{inside} of its words inside {cue!r}, {outside} outside"
                )
            return NegationCheck(False, cue, f"its words are outside {cue!r}")
        if content and covered * 2 >= content:
            return NegationCheck(True, cue, f"{cue!r} covers {covered} of {content} words")
        return NegationCheck(False, cue, "no evidence for it in a negated scope")
