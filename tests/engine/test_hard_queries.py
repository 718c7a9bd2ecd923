"""Hard queries on small hand-made routers: negation, several requests, languages, context."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routing.engine import IntentSpec, LocalDecisionCache, Policy, compile_router, count_tokens
from routing.engine.clauses import marked_requests, split_parts
from routing.engine.context import RetrievedContext
from routing.engine.errors import SnapshotError
from routing.engine.language import detect_language
from routing.engine.negation import has_cue, negated_spans
from routing.engine.tier_policy import tier_cost_usd
from tests.engine.conftest import EXAMPLES, TIERS, make_snapshot

POLICY = Policy(method="centroid", threshold=0.45, fallback_tier="middle")
ON = replace(POLICY, detect_negation=True, split_intents=True, detect_language=True)


class ChosenLLM:
    """The LLM stage's protocol: answers `intent` and remembers what it was asked."""

    def __init__(self, intent: str | None):
        self.intent = intent
        self.asked: list[str] = []

    def classify(self, query, intents, *, timeout):
        self.asked.append(query)
        return self.intent


@pytest.fixture(scope="module")
def hard_router(encoder):
    return compile_router(make_snapshot(encoder, policy=POLICY))


# -- negation -----------------------------------------------------------------------------


def test_a_negated_top_intent_loses_its_confidence_without_an_llm_band(hard_router, encoder):
    query = "I do not want to book a flight"
    before = hard_router.route(query, encoder=encoder)
    after = hard_router.route(query, encoder=encoder, policy=ON)

    assert before.intent == "flight_booking"
    assert after.intent is None
    assert after.trace.negated == ["flight_booking"]
    assert after.confidence == pytest.approx(before.confidence * ON.negation_confidence_factor)
    assert after.trace.fallback_reason.startswith("negated: flight_booking")
    assert after.trace.llm_reason == ""
    assert after.tier == "cheap"  # "no intent" is a result: the tier follows complexity


def test_a_negated_top_intent_goes_to_the_llm_band_when_one_is_configured(hard_router, encoder):
    llm = ChosenLLM("billing")
    band = replace(ON, ambiguity_low=0.1, ambiguity_high=0.2)  # far below this confidence
    decision = hard_router.route(
        "I don't want to book a flight", encoder=encoder, llm=llm, policy=band
    )

    assert llm.asked == ["I don't want to book a flight"]
    assert decision.stage == "llm"
    assert decision.intent == "billing"
    assert decision.trace.llm_reason == "negation"


def test_an_intent_whose_examples_carry_the_negation_wins(encoder):
    examples = {
        **EXAMPLES,
        "keep_flight": [
            "I don't want to book a flight after all",
            "i do not want to book that flight anymore",
            "please don't book the flight for me",
        ],
    }
    router = compile_router(make_snapshot(encoder, examples=examples, policy=ON))
    decision = router.route("I do not want to book a flight", encoder=encoder)

    assert decision.intent == "keep_flight"
    assert decision.trace.negated == []
    (negation,) = [stage for stage in decision.trace.stages if stage.stage == "negation"]
    assert "nearest example is negated the same way" in negation.outcome


def test_a_problem_report_is_not_a_negation(hard_router, encoder):
    decision = hard_router.route(
        "I can't book a flight, the site shows an error", encoder=encoder, policy=ON
    )
    assert decision.intent == "flight_booking"
    assert decision.trace.negated == []


@pytest.mark.parametrize(
    "text",
    [
        "I do NOT want to cancel my subscription",
        "please don't cancel my account",
        "I'd like to pause instead of cancelling my plan",
        "No quiero cancelar mi suscripción",
        "Je ne veux pas annuler mon abonnement",
        "Ich möchte mein Abo nicht kündigen",
        "Não quero cancelar a minha assinatura",
    ],
)
def test_negation_and_contrast_cues_in_five_languages(text):
    assert has_cue(text)


@pytest.mark.parametrize(
    "text",
    [
        "I can't log in",
        "the app doesn't work",
        "Ich kann mich nicht mehr anmelden",
        "refund please",
    ],
)
def test_a_negated_ability_or_state_is_not_a_cue(text):
    assert not has_cue(text)


def test_a_negated_scope_runs_from_the_cue_to_the_clause_end():
    query = "I'd like to pause instead of cancelling my plan, thanks"
    assert negated_spans(query) == [(query.index("instead"), query.index(", thanks"), "instead of")]


# -- several requests ---------------------------------------------------------------------


def test_a_second_request_is_reported_as_a_secondary_intent(hard_router, encoder):
    query = "book a flight to rome next friday and also what's the weather like in paris"
    decision = hard_router.route(query, encoder=encoder, policy=ON)

    assert decision.intent == "flight_booking"
    assert [(s.intent, s.text) for s in decision.secondary_intents] == [
        ("weather", "also what's the weather like in paris")
    ]
    assert [part.text for part in decision.trace.parts] == [
        "book a flight to rome next friday",
        "also what's the weather like in paris",
    ]
    assert hard_router.route(query, encoder=encoder).secondary_intents == []


def test_the_tier_is_the_highest_any_part_requires(encoder):
    intents = [
        IntentSpec(name, f"handlers.{name}", min_tier="powerful" if name == "weather" else None)
        for name in EXAMPLES
    ]
    router = compile_router(make_snapshot(encoder, intents=intents, policy=ON))
    query = "book a flight to rome next friday and also what's the weather like in paris"
    decision = router.route(query, encoder=encoder)

    assert decision.intent == "flight_booking"
    assert decision.tier == "powerful"
    assert router.route(query, encoder=encoder, policy=POLICY).tier == "cheap"


def test_a_one_request_message_is_not_split(hard_router, encoder):
    decision = hard_router.route(
        "book me a cheap flight to london next week please", encoder=encoder, policy=ON
    )
    assert decision.trace.parts == []
    assert [s.outcome for s in decision.trace.stages if s.stage == "split"] == ["one request"]


def test_parts_are_cut_at_strong_boundaries_only():
    assert split_parts("cancel and refund my order before it ships on monday") == []
    assert split_parts("short. message? here") == []
    parts = split_parts("Hi there, hope you're well. I need a copy of my invoice for March")
    assert parts == ["Hi there, hope you're well.", "I need a copy of my invoice for March"]
    assert marked_requests(parts) == [False, False]
    parts = split_parts("Where is my package? Why was I charged twice this month?")
    assert marked_requests(parts) == [True, True]


def test_a_cached_decision_keeps_its_secondary_intents(hard_router, encoder):
    cache = LocalDecisionCache(max_entries=10)
    query = "book a flight to rome next friday and also what's the weather like in paris"
    first = hard_router.route(query, encoder=encoder, policy=ON, cache=cache)
    second = hard_router.route(query, encoder=encoder, policy=ON, cache=cache)
    assert second.cached
    assert second.secondary_intents == first.secondary_intents != []
    assert second.trace.parts == first.trace.parts


# -- languages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hola, necesito ayuda con mi factura", "es"),
        ("Je voudrais annuler ma commande", "fr"),
        ("Ich kann mich nicht mehr anmelden", "de"),
        ("Quero cancelar a minha assinatura", "pt"),
        ("can you find my cellphone", "en"),  # low-accuracy mode alone says German
        ("ok", ""),
    ],
)
def test_the_language_of_a_query(text, code):
    assert detect_language(text).code == code


def test_an_uncovered_language_takes_the_unsupported_language_policy(encoder):
    policy = replace(ON, fallback_intent="greeting", unsupported_language_handler="humans.spanish")
    router = compile_router(make_snapshot(encoder, policy=policy))
    decision = router.route("Quiero reservar un vuelo a Roma el viernes", encoder=encoder)

    assert decision.language == "es"
    assert decision.stage == "fallback"
    assert decision.intent == "greeting"
    assert decision.handler == "humans.spanish"
    assert decision.tier == "middle"  # the fallback tier, never the cheapest
    assert decision.trace.fallback_reason == (
        "language es is not covered by encoder minilm-l6-v2-int8 (covers en): "
        "unsupported-language policy"
    )


def test_an_uncovered_language_goes_to_the_llm_band_when_one_is_configured(hard_router, encoder):
    llm = ChosenLLM("flight_booking")
    band = replace(ON, ambiguity_low=0.3, ambiguity_high=0.5)
    decision = hard_router.route(
        "Quiero reservar un vuelo a Roma", encoder=encoder, llm=llm, policy=band
    )

    assert llm.asked == ["Quiero reservar un vuelo a Roma"]
    assert (decision.intent, decision.stage, decision.language) == ("flight_booking", "llm", "es")
    assert decision.trace.llm_reason == "language"


class MultilingualEncoder:
    """The same vectors, declared as covering every language (like an OpenAI encoder)."""

    languages = None

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def encode(self, texts):
        return self.inner.encode(texts)


def test_a_multilingual_encoder_routes_other_languages_as_usual(hard_router, encoder):
    query = "Quiero reservar un vuelo a Roma"
    multilingual = MultilingualEncoder(encoder)
    decision = hard_router.route(query, encoder=multilingual, policy=ON)
    plain = hard_router.route(query, encoder=multilingual, policy=POLICY)

    assert decision.language == "es"
    assert (decision.intent, decision.confidence) == (plain.intent, plain.confidence)
    assert "not covered" not in " ".join(decision.trace.notes)


def test_an_english_query_routes_as_without_detection(hard_router, encoder):
    detected = hard_router.route(
        "will it rain tomorrow", encoder=encoder, policy=replace(POLICY, detect_language=True)
    )
    plain = hard_router.route("will it rain tomorrow", encoder=encoder)
    assert detected.language == "en"
    assert (detected.intent, detected.confidence, detected.tier) == (
        plain.intent,
        plain.confidence,
        plain.tier,
    )


# -- retrieved context --------------------------------------------------------------------


def test_retrieved_context_raises_complexity_and_counts_in_the_cost(hard_router, encoder):
    query = "what's the weather like today"
    plain = hard_router.route(query, encoder=encoder)
    heavy = hard_router.route(query, encoder=encoder, context=RetrievedContext(6, 5000))

    assert plain.complexity == "simple"
    assert heavy.complexity == "complex"
    assert heavy.tier == "powerful"
    expected = tier_cost_usd(
        TIERS[2], count_tokens(query) + 5000, POLICY.expected_output_tokens["complex"]
    )
    assert heavy.estimated_cost_usd == pytest.approx(expected)
    (context,) = [stage for stage in heavy.trace.stages if stage.stage == "context"]
    assert "context 6 documents, 5000 tokens: at least complex" in context.outcome


def test_a_light_context_never_lowers_complexity(hard_router, encoder):
    query = "explain why my card was charged twice and compare the trade-offs in detail"
    plain = hard_router.route(query, encoder=encoder)
    light = hard_router.route(query, encoder=encoder, context=RetrievedContext(1, 10))
    assert light.complexity == plain.complexity == "moderate"


def test_documents_are_counted_with_the_cost_tokenizer():
    context = RetrievedContext.from_documents(["the Johnson account", "five documents"])
    assert context == RetrievedContext(
        2, count_tokens("the Johnson account") + count_tokens("five documents")
    )


def test_decisions_with_and_without_context_are_cached_apart(hard_router, encoder):
    cache = LocalDecisionCache(max_entries=10)
    query = "will it rain tomorrow"
    hard_router.route(query, encoder=encoder, cache=cache)
    with_context = hard_router.route(
        query, encoder=encoder, cache=cache, context=RetrievedContext(5, 0)
    )
    again = hard_router.route(query, encoder=encoder, cache=cache, context=RetrievedContext(5, 0))

    assert not with_context.cached
    assert with_context.complexity == "complex"
    assert again.cached
    assert again.complexity == "complex"


def test_context_thresholds_must_be_ordered(encoder):
    with pytest.raises(SnapshotError, match="context_tokens_moderate"):
        compile_router(make_snapshot(encoder, policy=replace(POLICY, context_tokens_moderate=9000)))
