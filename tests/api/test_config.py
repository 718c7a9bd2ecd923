import copy

import pytest

from routing.models import Router, RouterVersion
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def test_routers_lists_only_the_routers_a_key_may_use(client_for, demo_router, demo_document):
    from routing.services.config_apply import router_config_apply

    other = router_config_apply(document={**demo_document, "slug": "other"}).router
    everything = client_for(scopes=["route"]).get("routers").json()
    assert {r["slug"] for r in everything} == {demo_router.slug, "other"}
    restricted = client_for(scopes=["route"], routers=[other]).get("routers").json()
    assert [r["slug"] for r in restricted] == ["other"]
    assert restricted[0]["version"] == other.version


def test_export_then_import_round_trip_is_identical(api, demo_router):
    exported = api.get(f"routers/{demo_router.slug}/config").json()
    assert exported["slug"] == demo_router.slug and exported["version"] == demo_router.version

    copy_document = {**copy.deepcopy(exported), "slug": "support-copy"}
    response = api.put("routers/support-copy/config", copy_document)
    assert response.status_code == 200, response.content
    assert response.json()["applied"] is True
    reexported = api.get("routers/support-copy/config").json()
    strip = lambda doc: {k: v for k, v in doc.items() if k not in ("slug", "version")}  # noqa: E731
    assert strip(reexported) == strip(exported)

    # Importing the same document again changes nothing and makes no version.
    versions = RouterVersion.objects.filter(router__slug="support-copy").count()
    again = api.put("routers/support-copy/config", reexported).json()
    assert (again["applied"], again["changes"]) == (False, [])
    assert RouterVersion.objects.filter(router__slug="support-copy").count() == versions


def test_import_applies_one_new_version(api, demo_router):
    document = api.get(f"routers/{demo_router.slug}/config").json()
    document["intents"][0]["examples"].append("a brand new example sentence")
    document["policy"]["threshold"] = 0.42
    response = api.put(f"routers/{demo_router.slug}/config", document)
    body = response.json()
    assert body["applied"] is True
    assert body["version"] == demo_router.version + 1
    assert any("example(s) added" in change for change in body["changes"])
    assert any("policy.threshold" in change for change in body["changes"])
    demo_router.refresh_from_db()
    assert demo_router.threshold == 0.42


def _broken(document: dict) -> dict:
    document = copy.deepcopy(document)
    document["rules"].append(
        {"kind": "keyword", "pattern": "zzz", "action": "route", "intent": "no_such_intent"}
    )
    document["rules"].append(
        {"kind": "regex", "pattern": "(unclosed", "action": "block", "reason": "bad"}
    )
    document["tiers"][0]["price_in_per_mtok"] = -1
    return document


def test_dry_run_lists_every_problem_and_applies_nothing(api, demo_router):
    document = _broken(api.get(f"routers/{demo_router.slug}/config").json())
    response = api.put(f"routers/{demo_router.slug}/config?dry_run=true", document)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["applied"] is False
    fields = {problem["field"] for problem in body["problems"]}
    n = len(document["rules"])
    assert {
        f"rules[{n - 2}].intent",
        f"rules[{n - 1}].pattern",
        "tiers[0].price_in_per_mtok",
    } <= fields
    assert Router.objects.get(pk=demo_router.pk).version == demo_router.version


def test_dry_run_of_a_valid_change_returns_the_diff(api, demo_router):
    document = api.get(f"routers/{demo_router.slug}/config").json()
    document["policy"]["top_k"] = 7
    body = api.put(f"routers/{demo_router.slug}/config?dry_run=true", document).json()
    assert body["changes"] == [f"policy.top_k: {demo_router.top_k} -> 7"]
    assert (body["applied"], body["problems"]) == (False, [])
    assert Router.objects.get(pk=demo_router.pk).top_k == demo_router.top_k


def test_invalid_import_is_refused_with_every_problem(api, demo_router):
    document = _broken(api.get(f"routers/{demo_router.slug}/config").json())
    response = api.put(f"routers/{demo_router.slug}/config", document)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert len(error["details"]["problems"]) >= 3
    assert Router.objects.get(pk=demo_router.pk).version == demo_router.version


def test_import_of_another_routers_document_is_refused(api, demo_router):
    document = api.get(f"routers/{demo_router.slug}/config").json()
    response = api.put("routers/brand-new/config", document)
    assert response.status_code == 422
    assert error_of(response)["details"]["problems"][0]["field"] == "slug"
    assert not Router.objects.filter(slug="brand-new").exists()


def test_config_scopes_and_router_restriction(client_for, demo_router):
    reader = client_for(scopes=["config:read"])
    assert reader.get(f"routers/{demo_router.slug}/config").status_code == 200
    document = reader.get(f"routers/{demo_router.slug}/config").json()
    assert reader.put(f"routers/{demo_router.slug}/config", document).status_code == 403
    assert client_for(scopes=["route"]).get(f"routers/{demo_router.slug}/config").status_code == 403


def test_restricted_key_cannot_create_routers(client_for, demo_router):
    writer = client_for(scopes=["config:read", "config:write"], routers=[demo_router])
    document = writer.get(f"routers/{demo_router.slug}/config").json()
    response = writer.put("routers/elsewhere/config", {**document, "slug": "elsewhere"})
    assert response.status_code == 403


def test_config_of_unknown_router_is_404(api, db):
    assert api.get("routers/nope/config").status_code == 404


def test_import_of_a_non_object_is_422(api, demo_router):
    response = api.put(f"routers/{demo_router.slug}/config", ["not", "a", "document"])
    assert response.status_code == 422
    error_of(response)


def test_import_malformed_json_is_400(api, demo_router):
    assert api.put(f"routers/{demo_router.slug}/config", raw="{nope").status_code == 400


def test_a_rules_scope_is_exported_and_imported(api, demo_router):
    document = api.get(f"routers/{demo_router.slug}/config").json()
    assert {rule["scope"] for rule in document["rules"]} == {"query"}
    document["rules"][0]["scope"] = "conversation"
    older = copy.deepcopy(document)
    del older["rules"][1]["scope"]  # a document written before rules had a scope

    assert api.put(f"routers/{demo_router.slug}/config", older).json()["applied"] is True
    exported = api.get(f"routers/{demo_router.slug}/config").json()

    assert [rule["scope"] for rule in exported["rules"]][:2] == ["conversation", "query"]
    again = api.put(f"routers/{demo_router.slug}/config", exported).json()
    assert (again["applied"], again["changes"]) == (False, [])
    bad = {**exported, "rules": [{**exported["rules"][0], "scope": "session"}]}
    response = api.put(f"routers/{demo_router.slug}/config", bad)
    assert response.status_code == 422
