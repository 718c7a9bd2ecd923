"""The experiments API end to end: create, route (sticky arms, control on the most expensive
tier, the decision log), results, one running per router, promote, scopes and errors."""

from __future__ import annotations

from analytics.decision_log import decision_log
from analytics.experiments.models import Experiment
from analytics.models import DecisionLog
from routing.runtime import runtime_reset
from tests.api.conftest import error_of
from tests.experiments.conftest import STRONG

QUERY = "please give me my money back for the broken blender I bought"
ARMS = [
    {"name": "current", "weight": 50},
    {"name": "strict", "policy": {"similarity_floor": 0.99}, "weight": 50},
]


def _create(api, slug: str, **extra):
    body = {"name": "threshold test", "arms": ARMS, **extra}
    return api.post(f"routers/{slug}/experiments", body)


def _route(api, slug: str, user_id: str, query: str = QUERY):
    response = api.post(f"routers/{slug}/route", {"query": query, "user_id": user_id})
    assert response.status_code == 200, response.content
    return response.json()


def test_route_carries_null_experiment_when_none_runs(api, demo_router):
    assert _route(api, demo_router.slug, "u1")["experiment"] is None


def test_full_experiment_from_start_to_promote(api, wire_router):
    created = _create(api, wire_router.slug, control_percent=10)
    assert created.status_code == 201, created.content
    experiment = created.json()
    assert experiment["status"] == "running"
    assert [arm["name"] for arm in experiment["arms"]] == ["current", "strict", "control"]

    arms_by_user = {}
    for index in range(60):
        body = _route(api, wire_router.slug, f"user-{index}")
        assert body["experiment"]["id"] == experiment["id"]
        assert body["experiment"]["name"] == "threshold test"
        assert body["experiment"]["assigned_by"] == "user_id"
        arm = body["experiment"]["arm"]
        arms_by_user[f"user-{index}"] = arm
        if arm == "control":
            assert body["tier"] == STRONG  # the control arm answers with the most expensive tier
            assert body["intent"] == "refund"  # ... for the intent routed as usual
        elif arm == "strict":
            assert body["intent"] is None  # no query is that close to an intent's centroid
        else:
            assert body["intent"] == "refund"
    assert set(arms_by_user.values()) == {"current", "strict", "control"}

    # Sticky: the same users get the same arms again, also after a restart (empty caches).
    runtime_reset()
    for user, arm in list(arms_by_user.items())[:20]:
        assert _route(api, wire_router.slug, user)["experiment"]["arm"] == arm

    decision_log.flush()
    logged = DecisionLog.objects.filter(experiment_id=experiment["id"])
    assert logged.count() == 80
    for row in logged.filter(user_ref__in=list(arms_by_user)):
        assert row.experiment_arm == arms_by_user[row.user_ref]

    results = api.get(f"experiments/{experiment['id']}").json()
    by_arm = {result["arm"]: result for result in results["results"]}
    counts = {arm: 0 for arm in by_arm}
    for user, arm in arms_by_user.items():
        counts[arm] += 2 if int(user.split("-")[1]) < 20 else 1
    assert {arm: result["traffic"] for arm, result in by_arm.items()} == counts
    strict = by_arm["strict"]
    assert strict["cost_per_query_usd"]["test"]["test"] == "Welch's t test (two-sided)"
    assert strict["rates"]["reask_rate"]["test"]["minimum_sample"] == (
        "10 successes and 10 failures in each arm"
    )
    assert strict["rates"]["reask_rate"]["test"]["enough_sample"] is False
    assert by_arm["current"]["reference"] is True

    # Promote "strict": the router's similarity floor becomes 0.99 in one new version, the experiment ends.
    version_before = wire_router.version
    promoted = api.post(f"experiments/{experiment['id']}/promote", {"arm": "strict"})
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["status"] == "promoted"
    assert promoted.json()["promoted_version"] == version_before + 1
    wire_router.refresh_from_db()
    assert wire_router.similarity_floor == 0.99
    assert wire_router.version == version_before + 1
    after = api.post(f"routers/{wire_router.slug}/route", {"query": QUERY, "user_id": "user-1"})
    assert after.json()["experiment"] is None


def test_batch_routes_every_query_in_the_callers_arm(api, demo_router):
    experiment = _create(api, demo_router.slug, control_percent=0).json()
    response = api.post(
        f"routers/{demo_router.slug}/route/batch",
        {"queries": [QUERY, "why was I charged twice"], "session_id": "s-7"},
    )
    decisions = response.json()["decisions"]
    arms = {decision["experiment"]["arm"] for decision in decisions}
    assert len(arms) == 1
    assert decisions[0]["experiment"]["assigned_by"] == "session_id"
    assert decisions[0]["experiment"]["id"] == experiment["id"]


def test_one_running_experiment_per_router(api, demo_router):
    first = _create(api, demo_router.slug).json()
    second = _create(api, demo_router.slug)
    assert second.status_code == 409
    error = error_of(second)
    assert error["code"] == "conflict"
    assert error["details"] == {"running_experiment": first["id"]}
    # Created paused, it may exist; it cannot start while the first runs.
    paused = _create(api, demo_router.slug, start=False).json()
    assert paused["status"] == "paused"
    assert api.post(f"experiments/{paused['id']}/start").status_code == 409
    assert api.post(f"experiments/{first['id']}/stop").json()["status"] == "stopped"
    assert api.post(f"experiments/{paused['id']}/start").json()["status"] == "running"
    assert api.post(f"experiments/{first['id']}/start").status_code == 409  # ended for good


def test_pause_routes_without_the_experiment(api, demo_router):
    experiment = _create(api, demo_router.slug).json()
    api.post(f"experiments/{experiment['id']}/pause")
    assert _route(api, demo_router.slug, "u1")["experiment"] is None


def test_bad_arms_are_refused_with_what_to_fix(api, demo_router):
    response = _create(
        api,
        demo_router.slug,
        arms=[
            {"name": "control", "weight": 1},
            {"name": "old", "version": 999, "weight": 1},
            {"name": "odd", "policy": {"threshold": "high"}, "weight": 1},
            {"name": "unknown", "policy": {"temperature": 1}, "weight": 1},
        ],
    )
    assert response.status_code == 422
    problems = error_of(response)["details"]["problems"]
    assert [problem["field"] for problem in problems] == [
        "arms.0.name",
        "arms.1",
        "arms.2",
        "arms.3",
    ]
    assert "no version 999" in problems[1]["message"]
    assert "policy threshold" in problems[2]["message"]
    assert "unknown policy field(s) temperature" in problems[3]["message"]
    assert Experiment.objects.count() == 0


def test_scopes_and_unknown_experiments(client_for, demo_router, api):
    reader = client_for(scopes=["decisions:read"])
    assert _create(reader, demo_router.slug).status_code == 403
    experiment = _create(api, demo_router.slug).json()
    assert reader.get(f"experiments/{experiment['id']}").status_code == 200
    assert reader.post(f"experiments/{experiment['id']}/stop").status_code == 403
    assert error_of(api.get("experiments/99999"))["code"] == "not_found"
    other = client_for(routers=[], scopes=["decisions:read"])
    assert other.get(f"experiments/{experiment['id']}").status_code == 200


def test_promoting_the_control_arm_is_refused(api, demo_router):
    experiment = _create(api, demo_router.slug).json()
    response = api.post(f"experiments/{experiment['id']}/promote", {"arm": "control"})
    assert response.status_code == 422
    assert "benchmark" in error_of(response)["message"]


def test_promote_without_traffic_asks_for_an_arm(api, demo_router):
    experiment = _create(api, demo_router.slug).json()
    response = api.post(f"experiments/{experiment['id']}/promote", {})
    assert response.status_code == 422
    assert error_of(response)["details"]["arms"] == ["current", "strict", "control"]


def test_weights_change_moves_only_the_needed_users(api, demo_router):
    experiment = _create(api, demo_router.slug, control_percent=0).json()
    changed = api.post(
        f"experiments/{experiment['id']}/weights", {"weights": {"current": 60, "strict": 40}}
    ).json()
    # strict gives up the end of its range to current; every other user keeps their arm
    assert changed["allocation"] == [
        [0, 5000, "current"],
        [5000, 9000, "strict"],
        [9000, 10000, "current"],
    ]
    assert experiment["allocation"] == [[0, 5000, "current"], [5000, 10000, "strict"]]


def test_an_arm_routes_with_an_earlier_version(api, demo_router):
    from routing.services.versioning import router_policy_update

    router_policy_update(router=demo_router, changes={"method": "knn"})
    assert demo_router.version == 2
    body = {
        "name": "back to linear",
        "arms": [{"name": "v1", "version": 1}, {"name": "now"}],
        "control_percent": 0,
    }
    experiment = api.post(f"routers/{demo_router.slug}/experiments", body).json()
    seen = {}
    for index in range(40):
        decision = _route(api, demo_router.slug, f"user-{index}")
        seen.setdefault(decision["experiment"]["arm"], set()).add(
            (decision["router_version"], decision["policy_digest"])
        )
    assert {arm: {version for version, _ in pairs} for arm, pairs in seen.items()} == {
        "v1": {1},
        "now": {2},
    }
    assert seen["v1"] != seen["now"]
    api.post(f"experiments/{experiment['id']}/promote", {"arm": "v1"})
    demo_router.refresh_from_db()
    assert (demo_router.method, demo_router.version) == ("linear", 3)
