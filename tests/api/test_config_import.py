"""The config endpoint: large and gzip bodies, authors, intent names as teams write them, the
document's schema in OpenAPI, allow-listed key variables, and concurrent imports."""

from __future__ import annotations

import copy
import gzip
import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from routing.models import Intent, Router, RouterVersion
from tests.api.conftest import APIClient, error_of

pytestmark = pytest.mark.django_db


def _put(api: APIClient, path: str, body: bytes, **headers):
    return api.client.put(
        f"/api/v1/{path}", body, content_type="application/json", headers=api._headers(headers)
    )


def test_api_import_refuses_a_server_variable_as_key_with_a_clear_message(
    api, demo_router, demo_document
):
    document = copy.deepcopy(demo_document)
    document["tiers"][0]["api_key_env"] = "SECRET_KEY"
    response = api.put(f"routers/{demo_router.slug}/config", document)
    assert response.status_code == 422
    (problem,) = error_of(response)["details"]["problems"]
    assert problem["field"] == "tiers[0].api_key_env"
    assert "may not hold a provider key" in problem["message"]
    assert demo_router.tiers.filter(api_key_env="SECRET_KEY").count() == 0


def test_an_api_import_records_the_keys_name_as_author(client_for, demo_router, operator):
    writer = client_for(name="uxapp")
    document = writer.get(f"routers/{demo_router.slug}/config").json()
    document["policy"]["threshold"] = 0.41
    assert writer.put(f"routers/{demo_router.slug}/config", document).status_code == 200

    demo_router.refresh_from_db()
    version = RouterVersion.objects.get(router=demo_router, number=demo_router.version)
    assert (version.created_by, version.author_label, version.author) == (
        None,
        "key uxapp",
        "key uxapp",
    )
    console = Client()
    console.force_login(operator)
    assert "key uxapp" in console.get(f"/r/{demo_router.slug}/versions/").text


def test_a_gzip_body_is_accepted(api, demo_router):
    document = api.get(f"routers/{demo_router.slug}/config").json()
    document["intents"][0]["examples"].append("sent compressed")
    response = _put(
        api,
        f"routers/{demo_router.slug}/config",
        gzip.compress(json.dumps(document).encode()),
        **{"Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["applied"] is True


def test_a_document_over_djangos_upload_limit_is_accepted_on_the_config_endpoint_only(
    api, demo_router, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    document = api.get(f"routers/{demo_router.slug}/config").json()
    document["intents"][0]["examples"] += [f"example number {i} of many" for i in range(1000)]
    body = json.dumps(document).encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert _put(api, f"routers/{demo_router.slug}/config", body).status_code == 200
    route = api.post(f"routers/{demo_router.slug}/route", {"query": "x" * 20_000})
    assert route.status_code == 413
    assert error_of(route)["code"] == "request_too_large"


@pytest.mark.parametrize("compressed", [False, True])
def test_a_document_over_the_config_limit_is_a_413(api, demo_router, settings, compressed):
    settings.SEMROUTE_MAX_CONFIG_BYTES = 20_000
    document = api.get(f"routers/{demo_router.slug}/config").json()
    body = json.dumps(document).encode()
    headers = {"Content-Encoding": "gzip"} if compressed else {}
    if compressed:
        body = gzip.compress(body)
        assert len(body) < settings.SEMROUTE_MAX_CONFIG_BYTES  # too large only once decompressed
    response = _put(api, f"routers/{demo_router.slug}/config", body, **headers)
    assert response.status_code == 413
    assert error_of(response)["details"] == {"max_bytes": 20_000}


def test_a_gzip_bomb_is_a_413_without_inflating_it(api, demo_router, settings):
    settings.SEMROUTE_MAX_CONFIG_BYTES = 1_000_000
    bomb = gzip.compress(b"[" + b" " * 500_000_000 + b"]", compresslevel=9)
    assert len(bomb) < 1_000_000
    response = _put(api, f"routers/{demo_router.slug}/config", bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "once decompressed" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"}, 400, "malformed_request"),
        (
            gzip.compress(b'{"slug": "x"}')[:-6],
            {"Content-Encoding": "gzip"},
            400,
            "malformed_request",
        ),
        (b"{}", {"Content-Encoding": "br"}, 415, "unsupported_encoding"),
        (b"\xff\xfe{", {}, 400, "malformed_request"),
        (b"[" * 100_000, {}, 400, "malformed_request"),
    ],
    ids=["not-gzip", "truncated-gzip", "brotli", "not-utf8", "deep-nesting"],
)
def test_bad_bodies_get_the_error_shape(api, demo_router, body, headers, status, code):
    response = _put(api, f"routers/{demo_router.slug}/config", body, **headers)
    assert response.status_code == status
    assert error_of(response)["code"] == code


NAMES = ["Refund_Not_Showing", "card_payment?", "v1.2-beta", "ATM"]


def test_intent_names_as_teams_write_them_import_and_have_console_pages(
    api, demo_document, operator
):
    document = copy.deepcopy(demo_document)
    document["slug"] = "bank"
    for intent, name in zip(document["intents"], NAMES, strict=False):
        for rule in document["rules"]:
            if rule.get("intent") == intent["name"]:
                rule["intent"] = name
        if document["policy"]["fallback_intent"] == intent["name"]:
            document["policy"]["fallback_intent"] = name
        intent["name"] = name
    response = api.put("routers/bank/config", document)
    assert response.status_code == 200, response.content

    assert set(NAMES) <= set(
        Intent.objects.filter(router__slug="bank").values_list("name", flat=True)
    )
    console = Client()
    console.force_login(operator)
    for name in NAMES:
        url = reverse("console:intent", kwargs={"slug": "bank", "name": name})
        assert "?" not in url  # reverse() percent-encodes it
        page = console.get(url)
        assert page.status_code == 200 and name in page.text
        assert console.get(url + "edit/").status_code == 200
        add = reverse("console:example_add", kwargs={"slug": "bank", "name": name})
        assert console.post(add, {"text": f"a new line for {name}"}).status_code == 302
        assert (
            Intent.objects.get(router__slug="bank", name=name)
            .examples.filter(text=f"a new line for {name}")
            .exists()
        )


@pytest.mark.parametrize("name", ["New", "new", "bad name", "-dash", "slash/no", "é"])
def test_reserved_and_malformed_intent_names_are_refused(api, demo_router, demo_document, name):
    document = copy.deepcopy(demo_document)
    document["intents"].append({"name": name, "handler": "h", "examples": ["a fresh text"]})
    response = api.put(f"routers/{demo_router.slug}/config", document)
    assert response.status_code == 422
    fields = [p["field"] for p in error_of(response)["details"]["problems"]]
    assert f"intents[{len(document['intents']) - 1}].name" in fields


def test_intent_names_are_unique_ignoring_case(api, demo_router, demo_document):
    document = copy.deepcopy(demo_document)
    document["intents"].append({"name": "BILLING", "handler": "h", "examples": ["ok then"]})
    response = api.put(f"routers/{demo_router.slug}/config", document)
    assert response.status_code == 422
    (problem,) = error_of(response)["details"]["problems"]
    assert problem["field"] == f"intents[{len(document['intents']) - 1}].name"
    assert "duplicate intent name" in problem["message"]


def test_openapi_shows_the_real_shape_of_the_config_document(client):
    schema = client.get("/api/openapi.json").json()
    operations = schema["paths"]["/api/v1/routers/{slug}/config"]
    ref = "#/components/schemas/ConfigDocument"
    assert operations["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"] == ref
    assert (
        operations["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        == ref
    )
    components = schema["components"]["schemas"]
    document = components["ConfigDocument"]["properties"]
    assert document["intents"]["items"]["$ref"] == "#/components/schemas/IntentDoc"
    assert components["IntentDoc"]["properties"]["examples"]["items"]["maxLength"] >= 2000
    assert components["TierDoc"]["properties"]["rank"]["maximum"] == 32767
    assert components["PolicyDoc"]["properties"]["top_k"] == {
        "default": 5,
        "maximum": 100,
        "minimum": 1,
        "title": "Top K",
        "type": "integer",
    }
    assert "min_quality_complex" in components["PolicyDoc"]["properties"]


def test_an_example_text_in_two_intents_is_refused_naming_the_intent(
    api, demo_router, demo_document
):
    document = copy.deepcopy(demo_document)
    taken = document["intents"][0]["examples"][0]
    document["intents"][2]["examples"].append(f"  {taken} ")
    response = api.put(f"routers/{demo_router.slug}/config", document)
    assert response.status_code == 422
    (problem,) = error_of(response)["details"]["problems"]
    assert problem["field"] == f"intents[2].examples[{len(document['intents'][2]['examples']) - 1}]"
    assert f"intent {document['intents'][0]['name']!r}" in problem["message"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_creating_one_router_never_500(make_key, demo_document):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks and real concurrent connections")
    raw_key = make_key(name="racer")
    documents = []
    for i in range(4):
        document = copy.deepcopy(demo_document)
        document["slug"] = "raced"
        document["policy"]["threshold"] = 0.3 + i / 100
        documents.append(document)
    statuses: list[int] = []
    barrier = threading.Barrier(len(documents))

    def put(document: dict) -> None:
        try:
            barrier.wait()
            response = APIClient(raw_key).put("routers/raced/config", document)
            statuses.append(response.status_code)
            if response.status_code != 200:
                error_of(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=put, args=(d,)) for d in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) == len(documents)
    assert set(statuses) <= {200, 409}, statuses
    router = Router.objects.get(slug="raced")
    numbers = sorted(RouterVersion.objects.filter(router=router).values_list("number", flat=True))
    assert numbers == list(range(1, router.version + 1))  # consecutive versions, none lost
    assert router.version == statuses.count(200)


def test_a_router_stored_before_a_rule_tightened_still_exports(api, demo_router):
    # e.g. a key variable the allow-list now refuses, or a rank SQLite once stored unchecked
    demo_router.tiers.filter(rank=1).update(api_key_env="MY_TOKEN", rank=30000)
    exported = api.get(f"routers/{demo_router.slug}/config")
    assert exported.status_code == 200
    tiers = exported.json()["tiers"]
    (index,) = [i for i, tier in enumerate(tiers) if tier["api_key_env"] == "MY_TOKEN"]
    response = api.put(f"routers/{demo_router.slug}/config", exported.json())
    assert response.status_code == 422
    fields = [p["field"] for p in error_of(response)["details"]["problems"]]
    assert fields == [f"tiers[{index}].api_key_env"]


# Documents of the wrong shape everywhere: the schema names the problems, nothing answers 500.
JUNK = [
    '{"slug": 5}',
    '{"slug": "support", "name": "x", "intents": "x"}',
    '{"slug": "support", "name": "x", "intents": [1, null, "a"]}',
    '{"slug": "support", "name": "x", "tiers": [{"name": ["a"]}], "rules": [{"intent": ["x"],'
    ' "tier": {"a": 1}, "action": "route", "kind": "regex", "pattern": 5}]}',
    '{"slug": "support", "name": "x", "policy": {"ambiguity_low": "a", "fallback_intent": [1],'
    ' "fallback_tier": {"x": 1}}}',
    '{"slug": "support", "name": "x", "policy": []}',
    '{"slug": "support", "name": "x", "complexity_examples": {"simple": "abc", "weird": [1]}}',
    '{"slug": "support", "name": "x", "intents": [{"name": "a", "handler": "h",'
    ' "examples": [1, "", ["x"]], "min_tier": {"x": 1}}]}',
    '{"slug": "support", "name": "x", "version": 1e400}',
    '{"slug": "support", "name": "x", "rules": [{"kind": "regex", "pattern": "(a", "action":'
    ' "block", "reason": ["r"]}]}',
    "NaN",
    '"a string"',
    "null",
]


@pytest.mark.parametrize("raw", JUNK)
@pytest.mark.parametrize("query", ["", "?dry_run=true"])
def test_documents_of_the_wrong_shape_never_500(api, demo_router, raw, query):
    response = api.put(f"routers/{demo_router.slug}/config{query}", raw=raw)
    assert response.status_code in (200, 422), response.content[:300]
    if response.status_code == 422:
        error_of(response)
    else:
        assert response.json()["problems"]
    demo_router.refresh_from_db()
    assert Router.objects.get(pk=demo_router.pk).version == demo_router.version
