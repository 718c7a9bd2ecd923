"""The playground's retrieved-context field and the policy's hard-query switches."""

from urllib.parse import parse_qs, urlsplit

import pytest

from routing.console.playground_context import PLAYGROUND_CONTEXT_CHARS, pasted_context
from routing.engine import count_tokens
from routing.engine.context import RetrievedContext
from tests.console.conftest import HX

pytestmark = pytest.mark.django_db
PLAYGROUND = "/r/support/playground/"
DOCUMENTS = "\n---\n".join(f"Document {n}: the Johnson account, part {n}." for n in range(1, 7))


def _complexity(page: str) -> str:
    return page.split("<dt>Complexity</dt><dd>")[1].split("<")[0]


def test_pasted_documents_raise_complexity_in_the_playground(operator_client, demo_router):
    plain = operator_client.get(PLAYGROUND, {"q": "where is my parcel?"}).text
    page = operator_client.get(PLAYGROUND, {"q": "where is my parcel?", "context": DOCUMENTS}).text

    assert _complexity(plain) == "simple"
    assert _complexity(page) == "complex"
    tokens = sum(count_tokens(f"Document {n}: the Johnson account, part {n}.") for n in range(1, 7))
    assert f"context 6 documents, {tokens} tokens: at least complex" in page
    assert 'name="context"' in page and '<details class="context-field" open>' in page


def test_the_htmx_fragment_keeps_the_context_in_the_pushed_url(operator_client, demo_router):
    fragment = operator_client.get(
        PLAYGROUND, {"q": "where is my parcel?", "context": "6 documents, 100 tokens"}, headers=HX
    )
    assert fragment.text.lstrip().startswith('<section id="decision">')
    assert _complexity(fragment.text) == "complex"
    pushed = parse_qs(urlsplit(fragment["HX-Push-Url"]).query)
    assert pushed == {"q": ["where is my parcel?"], "context": ["6 documents, 100 tokens"]}


def test_a_context_too_long_for_the_playground_says_what_to_do(operator_client, demo_router):
    page = operator_client.get(
        PLAYGROUND, {"q": "where is my parcel?", "context": "x" * (PLAYGROUND_CONTEXT_CHARS + 1)}
    ).text
    assert "takes up to 3000 characters of context" in page
    assert "<dt>Complexity</dt>" not in page


def test_pasted_context_forms():
    assert pasted_context("  ").context is None
    assert pasted_context("12 documents, 9000 tokens").context == RetrievedContext(12, 9000)
    assert pasted_context("one\n---\ntwo").context == RetrievedContext(
        2, count_tokens("one") + count_tokens("two")
    )


def test_the_policy_page_turns_hard_query_features_on_and_off(operator_client, demo_router):
    page = operator_client.get("/r/support/policy/").text
    assert '<select name="detect_language"' in page
    for value, expected in (("True", True), ("False", False)):
        operator_client.post("/r/support/policy/", {"detect_language": value, "action": "save"})
        demo_router.refresh_from_db()
        assert demo_router.detect_language is expected
    response = operator_client.post(
        "/r/support/policy/",
        {"context_tokens_moderate": "9000", "action": "save"},
    )
    assert "The complex threshold (8000) must be &gt;= the moderate one (9000)." in response.text
