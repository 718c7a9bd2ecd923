import pytest

from routing.engine import Policy, compile_router
from routing.engine.complexity import ComplexityClassifier
from tests.engine.conftest import make_snapshot

CODE_QUERY = "why does this fail?\n```python\ndef total(xs):\n    return sum(x for x in xs\n```"
COMPLEX_QUERY = (
    "Compare the trade-offs of event sourcing and CRUD for a payments ledger. "
    "How would you design the architecture? What breaks at scale? " + "Consider audits. " * 60
)


@pytest.mark.parametrize(
    ("query", "level"),
    [
        ("hi", "simple"),
        ("what time is it in tokyo", "simple"),
        (CODE_QUERY, "moderate"),
        ("prove that the integral of x^2 from 0 to 1 equals 1/3, step by step", "complex"),
        (COMPLEX_QUERY, "complex"),
    ],
)
def test_text_features_alone_give_obvious_levels(query, level):
    assert ComplexityClassifier(None, ()).estimate(query, None).level == level


def test_complexity_examples_decide_and_features_only_raise_the_level(encoder):
    complexity = {
        "simple": ["hi", "thanks", "what time is it", "tell me a joke"],
        "moderate": ["summarise this email for me", "write a short cover letter"],
        "complex": [
            "design a distributed database schema for a bank",
            "derive the posterior distribution for a hierarchical model",
        ],
    }
    router = compile_router(
        make_snapshot(
            encoder, complexity=complexity, policy=Policy(method="centroid", threshold=0.4)
        )
    )

    assert router.route("thank you!", encoder=encoder).complexity == "simple"
    assert (
        router.route(
            "design a sharded storage system for a global bank", encoder=encoder
        ).complexity
        == "complex"
    )
    assert router.route("thanks! " + CODE_QUERY, encoder=encoder).complexity != "simple"


def test_complex_query_needs_a_high_quality_tier(router, encoder):
    decision = router.route(COMPLEX_QUERY, encoder=encoder)

    assert decision.complexity == "complex"
    assert decision.tier == "powerful"


def test_feature_pattern_timeout_counts_as_present_instead_of_raising():
    import regex

    from routing.engine.complexity import _fires

    catastrophic = regex.compile(r"(a|aa)+$")
    assert _fires(catastrophic, "a" * 60 + "!") is True
    assert _fires(catastrophic, "b") is False


def test_trivial_arithmetic_is_not_a_math_signal_but_an_equation_is():
    from routing.engine.complexity import text_signals

    assert "math" not in text_signals("what's 2+2?")[1]
    assert "math" in text_signals("solve 3*x^2 + 2*x = 7 for x")[1]
    assert "math" in text_signals("what is the derivative of sin(x)")[1]
