"""Bad input is a 4xx in the one error shape naming the field, never a 500, and changes nothing.

Each table is a class of input (issue 9, items 1, 4 and 6); the same cases run on SQLite and on
PostgreSQL, where NUL bytes, lone surrogates and NaN in JSON used to stop the decision log.
"""

import json

import pytest

from analytics.decision_log import decision_log
from analytics.models import DecisionLog, Feedback
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db

NUL = "\x00"
SURROGATE = "\udc00"

# (case, body, field the error must name)
BAD_ROUTE_BODIES = [
    ("NUL in the query", {"query": f"refund{NUL}please"}, "query"),
    ("lone surrogate in the query", {"query": f"refund {SURROGATE}"}, "query"),
    ("high surrogate in the query", {"query": "refund \ud800"}, "query"),
    ("whitespace-only query", {"query": " \t\n "}, "query"),
    ("empty query", {"query": ""}, "query"),
    ("NUL in user_id", {"query": "hi", "user_id": f"u{NUL}1"}, "user_id"),
    ("surrogate in user_id", {"query": "hi", "user_id": SURROGATE}, "user_id"),
    ("NUL in session_id", {"query": "hi", "session_id": f"s{NUL}"}, "session_id"),
    ("user_id longer than its column", {"query": "hi", "user_id": "u" * 201}, "user_id"),
    ("NUL in a metadata value", {"query": "hi", "metadata": {"app": f"w{NUL}b"}}, "metadata.app"),
    ("NUL in a metadata key", {"query": "hi", "metadata": {f"a{NUL}": 1}}, "metadata.a\\u0000"),
    (
        "surrogate in a nested metadata key",
        {"query": "hi", "metadata": {"a": [{SURROGATE: 1}]}},
        "metadata.a.0.\\udc00",
    ),
    (
        "surrogate nested in metadata",
        {"query": "hi", "metadata": {"user": {"tags": ["ok", SURROGATE]}}},
        "metadata.user.tags.1",
    ),
    ("metadata over 16 KB", {"query": "hi", "metadata": {"blob": "x" * 17_000}}, "metadata"),
    ("1 MB of metadata", {"query": "hi", "metadata": {"blob": "x" * 1_000_000}}, "metadata"),
    (
        "many small metadata values over 16 KB",
        {"query": "hi", "metadata": {f"k{i}": i for i in range(3000)}},
        "metadata",
    ),
    (
        "metadata nested too deep",
        {"query": "hi", "metadata": json.loads('{"a":' * 40 + "1" + "}" * 40)},
        "metadata" + ".a" * 16,
    ),
    ("metadata not an object", {"query": "hi", "metadata": [1, 2]}, "metadata"),
    ("explain 0 is not false", {"query": "hi", "explain": 0}, "explain"),
    ("explain 'true' is not true", {"query": "hi", "explain": "true"}, "explain"),
]

# Raw JSON a client can send that json.dumps would never write (NaN, Infinity).
BAD_ROUTE_RAW = [
    ("NaN in metadata", '{"query": "hi", "metadata": {"score": NaN}}', "metadata.score"),
    ("Infinity in metadata", '{"query": "hi", "metadata": {"x": [1, Infinity]}}', "metadata.x.1"),
    ("-Infinity in metadata", '{"query": "hi", "metadata": {"x": -Infinity}}', "metadata.x"),
]


def _assert_refused(response, field):
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in [problem["field"] for problem in error["details"]], error
    assert not DecisionLog.objects.exists() and len(decision_log) == 0  # nothing logged


@pytest.mark.parametrize(("case", "body", "field"), BAD_ROUTE_BODIES, ids=lambda v: str(v)[:40])
def test_bad_route_input_is_422_naming_the_field(api, demo_router, case, body, field):
    _assert_refused(api.post(f"routers/{demo_router.slug}/route", body), field)


@pytest.mark.parametrize(("case", "raw", "field"), BAD_ROUTE_RAW, ids=lambda v: str(v)[:40])
def test_non_finite_numbers_in_metadata_are_422(api, demo_router, case, raw, field):
    _assert_refused(api.post(f"routers/{demo_router.slug}/route", raw=raw), field)


@pytest.mark.parametrize(("case", "body", "field"), BAD_ROUTE_BODIES, ids=lambda v: str(v)[:40])
def test_bad_batch_input_is_422_naming_the_field(api, demo_router, case, body, field):
    batch = {("queries" if k == "query" else k): v for k, v in body.items()}
    batch["queries"] = ["where is my order", batch["queries"]]
    if field == "query":
        field = "queries.1"
    _assert_refused(api.post(f"routers/{demo_router.slug}/route/batch", batch), field)


@pytest.mark.parametrize("blank", ["", " ", "\n\t", "\u3000"])
def test_a_blank_query_inside_a_batch_is_422_naming_its_index(api, demo_router, blank):
    response = api.post(
        f"routers/{demo_router.slug}/route/batch", {"queries": ["hello", "refund", blank]}
    )
    _assert_refused(response, "queries.2")


GOOD_METADATA = [
    {"app": "web", "nested": {"list": [1, 2.5, True, None, "é 📦"]}},
    {"blob": "x" * 16_000},
    {},
]


@pytest.mark.parametrize("metadata", GOOD_METADATA, ids=["nested", "just under 16 KB", "empty"])
def test_good_metadata_is_stored_as_sent(api, demo_router, metadata):
    response = api.post(f"routers/{demo_router.slug}/route", {"query": "hi", "metadata": metadata})
    assert response.status_code == 200, response.content
    decision_log.flush()
    assert DecisionLog.objects.get(pk=response.json()["decision_id"]).metadata == metadata


def test_explain_accepts_only_real_booleans(api, demo_router):
    for explain, traced in ((True, True), (False, False)):
        response = api.post(
            f"routers/{demo_router.slug}/route", {"query": "hi", "explain": explain}
        )
        assert (response.json()["trace"] is not None) is traced


@pytest.mark.parametrize("slug", ["%00", "a%00b", "%ED%A0%80", "x" * 65, "bad%20slug"])
def test_a_slug_no_router_can_have_is_404_not_500(api, db, slug):
    response = api.post(f"routers/{slug}/route", {"query": "hello"})
    assert response.status_code == 404, response.content
    assert error_of(response)["code"] == "not_found"


# Feedback --------------------------------------------------------------------------------------

BAD_FEEDBACK = [
    ("NUL in comment", {"rating": "down", "comment": f"wrong{NUL}"}, "comment"),
    ("surrogate in comment", {"rating": "down", "comment": SURROGATE}, "comment"),
    ("comment too long", {"rating": "down", "comment": "x" * 5001}, "comment"),
    ("NUL in expected_intent", {"rating": "down", "expected_intent": f"a{NUL}"}, "expected_intent"),
    (
        "expected_intent too long",
        {"rating": "down", "expected_intent": "a" * 65},
        "expected_intent",
    ),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_FEEDBACK, ids=lambda v: str(v)[:40])
def test_bad_feedback_is_422_naming_the_field(api, demo_router, case, body, field):
    decision = api.post(f"routers/{demo_router.slug}/route", {"query": "where is my order"}).json()
    response = api.post(f"decisions/{decision['decision_id']}/feedback", body)
    assert response.status_code == 422, response.content
    assert field in [problem["field"] for problem in error_of(response)["details"]]
    assert not Feedback.objects.exists()


# Decision filters ------------------------------------------------------------------------------

BAD_FILTERS = [
    ("NUL in intent", {"intent": "a\x00b"}, "intent"),
    ("NUL in stage", {"stage": "\x00"}, "stage"),
    ("intent longer than its column", {"intent": "a" * 65}, "intent"),
    ("stage longer than its column", {"stage": "s" * 17}, "stage"),
    ("NUL in the cursor", {"cursor": "ab\x00"}, "cursor"),
    ("an offset PostgreSQL refuses", {"since": "0807-06-04T01:43:37+19:04"}, "since"),
    ("an offset past +14:00", {"until": "2026-01-01T00:00:00+15:00"}, "until"),
    ("a Unix timestamp", {"until": "0.5"}, "until"),
    ("an integer timestamp", {"since": "1700000000"}, "since"),
    ("not a date", {"since": "yesterday"}, "since"),
    ("year 1 east of UTC", {"since": "0001-01-01T00:00:00+01:00"}, "since"),
    ("year 9999 west of UTC", {"until": "9999-12-31T23:59:59-01:00"}, "until"),
    ("limit 0", {"limit": "0"}, "limit"),
    ("limit too large", {"limit": "201"}, "limit"),
]


@pytest.mark.parametrize(("case", "params", "field"), BAD_FILTERS, ids=lambda v: str(v)[:40])
def test_bad_decision_filters_are_422_naming_the_field(api, demo_router, case, params, field):
    response = api.get("decisions", params)
    assert response.status_code == 422, response.content
    assert field in [problem["field"] for problem in error_of(response)["details"]]


@pytest.mark.parametrize(
    "since",
    ["2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+14:00", "0807-06-04T01:43:37"],
)
def test_iso_8601_filters_are_accepted(api, demo_router, since):
    response = api.get("decisions", {"since": since})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "query_string",
    ["tier=%ED%B2%80", "intent=%FF%FE", "stage=%00", "since=%00", "cursor=%ED%A0%80"],
)
def test_undecodable_query_strings_are_never_5xx(api, demo_router, query_string):
    response = api.get(f"decisions?{query_string}")
    assert response.status_code in (200, 422), response.content
    if response.status_code == 422:
        error_of(response)


def test_a_router_filter_no_router_can_have_is_404(api, demo_router):
    response = api.get("decisions", {"router": "not a slug!"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    response = api.get("decisions", {"router": "a\x00b"})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "router"


def _cursor(*parts) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


UUID = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("0807-06-04T01:43:37+19:04", UUID),
        _cursor("2026-01-01T00:00:00+05:00", UUID),
        _cursor("2026-01-01T00:00:00", UUID),
        _cursor("2026-01-01T00:00:00+00:00", "not-a-uuid"),
        _cursor("2026-01-01T00:00:00+00:00"),
        _cursor(1, 2),
        "%%%",
        "bm90IGpzb24",
    ],
)
def test_a_crafted_cursor_is_422_not_500(api, demo_router, cursor):
    response = api.get("decisions", {"cursor": cursor})
    assert response.status_code == 422, response.content
    assert error_of(response)["details"][0]["field"] == "cursor"


def test_a_returned_cursor_still_pages(api, demo_router):
    for query in ("one", "two", "three"):
        api.post(f"routers/{demo_router.slug}/route", {"query": f"where is parcel {query}"})
    decision_log.flush()
    first = api.get("decisions", {"limit": "2"}).json()
    second = api.get("decisions", {"limit": "2", "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
