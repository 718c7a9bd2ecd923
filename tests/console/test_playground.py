"""Playground (single, compare, batch, one-click correction), policy preview, version rollback, rules."""

from routing.models import Example, Router, RouterVersion, Rule
from tests.console.conftest import HX

PLAYGROUND = "/r/support/playground/"


def _policy_form(router: Router, **changes) -> dict:
    values = {
        "method": router.method,
        "top_k": router.top_k,
        "aggregation": router.aggregation,
        "threshold": router.threshold,
        "ambiguity_low": router.ambiguity_low,
        "ambiguity_high": router.ambiguity_high,
        "fallback_intent": router.fallback_intent_id or "",
        "fallback_tier": router.fallback_tier_id or "",
        "cache_ttl_seconds": router.cache_ttl_seconds,
        "latency_budget_ms": router.latency_budget_ms or "",
    }
    return {**values, **changes}


def test_decision_card_shows_intent_chart_examples_trace(operator_client, demo_router):
    fragment = operator_client.get(PLAYGROUND, {"q": "I was charged twice this month"}, headers=HX)
    text = fragment.text
    assert text.lstrip().startswith('<section id="decision">')
    assert 'data-intent="billing"' in text
    for label in (
        "Confidence",
        "Decided by",
        "Complexity",
        "Tier / model",
        "Estimated cost",
        "Latency",
    ):
        assert label in text
    assert "Plotly.newPlot" in text and "threshold" in text
    assert "Nearest examples" in text and "Stage trace" in text and "µs" in text
    assert fragment["HX-Push-Url"].endswith("?q=I+was+charged+twice+this+month")


def test_out_of_scope_query_shows_the_in_domain_check(operator_client, demo_router):
    text = operator_client.get(PLAYGROUND, {"q": "what is the capital of France"}, headers=HX).text
    assert 'data-intent=""' in text and "no intent" in text
    assert "In-domain check" in text and "out of scope" in text
    in_scope = operator_client.get(PLAYGROUND, {"q": "where is my parcel"}, headers=HX).text
    assert "in domain" in in_scope and 'data-intent="shipping"' in in_scope


def test_rule_decision_and_empty_query(operator_client, demo_router):
    rule = operator_client.get(PLAYGROUND, {"q": "hello"}, headers=HX).text
    assert 'data-intent="small_talk"' in rule and "rule stage" in rule
    empty = operator_client.get(PLAYGROUND, {"q": "   "})
    assert "Type a query" in empty.text


def test_one_click_correction_adds_a_review_example_and_the_decision_changes(
    operator_client, demo_router
):
    query = "the app keeps asking me for a one-time code I never get"
    before = operator_client.get(PLAYGROUND, {"q": query}, headers=HX).text
    target = "complaint" if 'data-intent="complaint"' not in before else "sales"
    version = demo_router.version
    after = operator_client.post(
        PLAYGROUND + "correct/", {"q": query, "intent": target, "before": "x"}, headers=HX
    ).text
    assert f'data-intent="{target}"' in after and "Before: <strong>x</strong>" in after
    example = Example.objects.get(intent__router=demo_router, text=query)
    assert (example.intent.name, example.source) == (target, "review")
    demo_router.refresh_from_db()
    assert demo_router.version == version + 1


def test_correction_without_javascript_redirects_back_to_the_query(operator_client, demo_router):
    response = operator_client.post(
        PLAYGROUND + "correct/", {"q": "where is my parcel", "intent": "shipping"}
    )
    assert (
        response.status_code == 302 and response["Location"] == PLAYGROUND + "?q=where+is+my+parcel"
    )
    page = operator_client.get(response["Location"])
    assert "Added “where is my parcel” as an example of shipping." in page.text
    unknown = operator_client.post(PLAYGROUND + "correct/", {"q": "x", "intent": "nope"})
    assert unknown.status_code == 302


def test_compare_shows_two_strategies_side_by_side(operator_client, demo_router):
    fragment = operator_client.get(
        PLAYGROUND + "compare/",
        {"q": "I want my money back", "method_b": "centroid", "threshold_b": "0.9"},
        headers=HX,
    ).text
    assert fragment.count('class="compare-col"') == 2
    assert "saved: linear" in fragment and "centroid, threshold 0.9" in fragment
    assert fragment.count("Plotly.newPlot") == 2


def test_batch_table_distribution_and_cost(operator_client, demo_router):
    queries = "I want my money back\n\nwhere is my parcel\nhello\ncancel my plan please\n"
    fragment = operator_client.post(PLAYGROUND + "batch/", {"queries": queries}, headers=HX).text
    assert fragment.lstrip().startswith('<section id="batch-results">')
    assert "<strong>4</strong> queries" in fragment and "saved" in fragment
    assert "Decisions per intent" in fragment and "Decisions per tier" in fragment
    assert fragment.count("<tr><td>") == 4
    page = operator_client.post(PLAYGROUND + "batch/", {"queries": queries})
    assert "<html" in page.text and "Decisions per intent" in page.text


def test_batch_over_500_queries_is_refused(operator_client, demo_router):
    queries = "\n".join(f"query {i}" for i in range(501))
    fragment = operator_client.post(PLAYGROUND + "batch/", {"queries": queries}, headers=HX).text
    assert "At most 500 queries per batch (got 501)." in fragment


def test_policy_preview_changes_nothing_until_saved(operator_client, demo_router):
    version = demo_router.version
    preview = operator_client.post(
        "/r/support/policy/",
        {**_policy_form(demo_router, threshold="0.99"), "action": "preview"},
        headers=HX,
    ).text
    assert preview.lstrip().startswith('<section class="card" id="preview">')
    changed = int(preview.split('class="changed-count">')[1].split("<")[0])
    assert changed > 0 and "no intent" in preview
    demo_router.refresh_from_db()
    assert demo_router.version == version and demo_router.threshold != 0.99

    saved = operator_client.post(
        "/r/support/policy/", {**_policy_form(demo_router, threshold="0.99"), "action": "save"}
    )
    assert saved.status_code == 302
    demo_router.refresh_from_db()
    assert demo_router.version == version + 1 and demo_router.threshold == 0.99


def test_policy_form_errors(operator_client, demo_router):
    page = operator_client.post(
        "/r/support/policy/",
        {**_policy_form(demo_router, ambiguity_low="0.8", ambiguity_high="0.2"), "action": "save"},
    )
    assert page.status_code == 200 and "high bound must be" in page.text


def test_version_history_and_one_click_rollback(operator_client, demo_router):
    operator_client.post(
        "/r/support/policy/", {**_policy_form(demo_router, threshold="0.7"), "action": "save"}
    )
    history = operator_client.get("/r/support/versions/").text
    assert "policy.threshold: 0.35 -&gt; 0.7" in history and "olivia" in history
    first = RouterVersion.objects.filter(router=demo_router).order_by("number").first().number
    response = operator_client.post(f"/r/support/versions/{first}/rollback/", headers=HX)
    assert response.status_code == 200 and 'id="history"' in response.text
    assert f"Rolled back to version {first}" in response.text
    demo_router.refresh_from_db()
    assert demo_router.threshold == 0.35
    plain = operator_client.post(f"/r/support/versions/{first}/rollback/")
    assert plain.status_code == 302 and plain["Location"] == "/r/support/versions/"
    assert operator_client.post("/r/support/versions/999/rollback/").status_code == 404


def test_pattern_test_box_lists_matching_sample_queries(operator_client, demo_router):
    fragment = operator_client.get(
        "/r/support/rules/", {"kind": "regex", "pattern": r"money\s+back"}, headers=HX
    ).text
    assert fragment.lstrip().startswith('<div id="pattern-results">')
    assert "I want my money back" in fragment and "example of refund" in fragment
    broken = operator_client.get(
        "/r/support/rules/", {"kind": "regex", "pattern": "(unclosed"}, headers=HX
    ).text
    assert "invalid regex" in broken


def test_add_and_delete_a_rule(operator_client, demo_router):
    response = operator_client.post(
        "/r/support/rules/new/",
        {
            "kind": "keyword",
            "pattern": "lawyer",
            "priority": 5,
            "action": "block",
            "reason": "Legal",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    rule = Rule.objects.get(router=demo_router, pattern="lawyer")
    invalid = operator_client.post(
        "/r/support/rules/new/",
        {"kind": "regex", "pattern": "(", "priority": 1, "action": "block", "reason": "r"},
    )
    assert "Invalid regular expression" in invalid.text
    assert operator_client.post(f"/r/support/rules/{rule.pk}/delete/").status_code == 302
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_tiers_page_shows_whether_the_key_variable_is_set(
    operator_client, demo_router, monkeypatch
):
    tier = demo_router.tiers.exclude(api_key_env="").first()
    monkeypatch.delenv(tier.api_key_env, raising=False)
    assert "missing" in operator_client.get("/r/support/tiers/").text
    monkeypatch.setenv(tier.api_key_env, "sk-test")
    page = operator_client.get("/r/support/tiers/").text
    assert ">set<" in page and "sk-test" not in page
