"""Every review action, its audit entry, undo until the next version, bulk, clusters, feedback."""

from __future__ import annotations

import pytest

from analytics.dashboards.reports import quality_tables
from analytics.dashboards.timespan import span_from
from analytics.models import DecisionLog, Feedback
from analytics.review.exceptions import ReviewConflict
from analytics.review.models import ReviewDecision, ReviewEvent, ReviewItem
from analytics.review.selectors import quality_report, query_clusters, reviewed_labels
from analytics.review.services import (
    cluster_intent_create,
    review_bulk,
    review_resolve,
    review_send,
    review_undo,
)
from analytics.services import feedback_from_user
from routing.decide import decide
from routing.exceptions import InvalidInput
from routing.models import Example
from tests.review.conftest import sampled_id

pytestmark = pytest.mark.django_db

LOW = "my card"


@pytest.fixture
def item(demo_router, route_logged) -> ReviewItem:
    decision_id = route_logged(demo_router, LOW)
    return ReviewDecision.objects.get(decision_id=decision_id).item


def _version(router) -> int:
    router.refresh_from_db(fields=["version"])
    return router.version


def test_confirm_labels_the_decided_intent_and_records_who(item, operator, demo_router):
    before = _version(demo_router)
    resolution = review_resolve(item=item, action="confirm", user=operator)
    item.refresh_from_db()
    assert (item.status, item.reviewed_intent, item.reviewed_by) == (
        "confirmed",
        "small_talk",
        operator,
    )
    assert resolution.version is None and _version(demo_router) == before
    [event] = item.events.all()
    assert (event.action, event.status_before, event.user, event.router_version) == (
        "confirm",
        "open",
        operator,
        before,
    )


@pytest.mark.parametrize(
    ("action", "intent", "status", "label"),
    [
        ("relabel", "billing", "relabelled", "billing"),
        ("out_of_scope", None, "out_of_scope", None),
        ("dismiss", None, "dismissed", None),
    ],
)
def test_label_actions_change_no_version(
    item, operator, demo_router, action, intent, status, label
):
    before = _version(demo_router)
    review_resolve(item=item, action=action, intent=intent, user=operator)
    item.refresh_from_db()
    assert (item.status, item.reviewed_intent) == (status, label)
    assert item.events.get().action == action
    assert _version(demo_router) == before


def test_add_example_makes_a_version_and_the_query_routes_to_the_label(item, operator, demo_router):
    before = _version(demo_router)
    resolution = review_resolve(item=item, action="add_example", intent="billing", user=operator)
    assert resolution.version == before + 1 == _version(demo_router)
    example = Example.objects.get(intent__router=demo_router, text=LOW)
    assert (example.intent.name, example.source) == ("billing", "review")
    assert item.events.get().example == example
    assert decide(router=demo_router, query=LOW).intent == "billing"


def test_relabel_needs_an_intent_of_the_router(item):
    with pytest.raises(InvalidInput, match="Choose one of this router's intents"):
        review_resolve(item=item, action="relabel", intent="nope")
    with pytest.raises(InvalidInput, match="Unknown action"):
        review_resolve(item=item, action="shrug")
    assert ReviewEvent.objects.count() == 0


def test_undo_reverts_a_label_and_records_it(item, operator):
    review_resolve(item=item, action="relabel", intent="billing", user=operator)
    event = review_undo(item=item, user=operator)
    item.refresh_from_db()
    assert (item.status, item.reviewed_intent, item.reviewed_by) == ("open", None, None)
    assert event.undone_by == operator and event.undone_at is not None
    with pytest.raises(ReviewConflict, match="Nothing to undo"):
        review_undo(item=item, user=operator)


def test_undo_of_add_example_removes_the_example(item, operator, demo_router):
    review_resolve(item=item, action="add_example", intent="billing", user=operator)
    review_undo(item=item, user=operator)
    assert not Example.objects.filter(intent__router=demo_router, text=LOW).exists()
    item.refresh_from_db()
    assert item.status == "open"


def test_undo_is_refused_after_the_next_version(item, operator, demo_router):
    from routing.services.versioning import router_policy_update

    review_resolve(item=item, action="confirm", user=operator)
    router_policy_update(router=demo_router, changes={"threshold": 0.4}, user=operator)
    with pytest.raises(ReviewConflict, match="only until the next version"):
        review_undo(item=item, user=operator)
    item.refresh_from_db()
    assert item.status == "confirmed"


def test_adding_an_example_another_intent_owns_moves_it_and_undo_moves_it_back(
    demo_router, route_logged, operator
):
    owned = Example.objects.filter(intent__router=demo_router, intent__name="refund").first()
    decision_id = route_logged(demo_router, owned.text)
    item = review_send(decision=DecisionLog.objects.get(pk=decision_id))
    assert ReviewDecision.objects.get(decision_id=decision_id).item == item
    resolution = review_resolve(item=item, action="add_example", intent="billing", user=operator)
    assert resolution.note == "Moved the example from refund."
    owned.refresh_from_db()
    assert owned.intent.name == "billing"
    review_undo(item=item, user=operator)
    owned.refresh_from_db()
    assert owned.intent.name == "refund"


def test_bulk_add_example_is_one_version_for_every_item(demo_router, route_logged, operator):
    queries = ["my card", "money", "you people are useless, refund me"]
    items = [
        ReviewDecision.objects.get(decision_id=route_logged(demo_router, q)).item for q in queries
    ]
    before = _version(demo_router)
    resolutions = review_bulk(items=items, action="add_example", intent="billing", user=operator)
    assert _version(demo_router) == before + 1
    assert {r.version for r in resolutions} == {before + 1}
    assert sorted(
        Example.objects.filter(intent__name="billing", source="review").values_list(
            "text", flat=True
        )
    ) == sorted(queries)
    assert ReviewEvent.objects.filter(action="add_example").count() == 3


def test_bulk_dismiss_marks_each_item_with_its_own_event(demo_router, route_logged, operator):
    items = [
        ReviewDecision.objects.get(decision_id=route_logged(demo_router, q)).item
        for q in ("my card", "money")
    ]
    review_bulk(items=items, action="dismiss", user=operator)
    assert set(ReviewItem.objects.values_list("status", flat=True)) == {"dismissed"}
    assert ReviewEvent.objects.filter(action="dismiss").count() == 2


def test_console_thumbs_down_queues_the_decision_with_the_expected_intent(
    demo_router, route_logged, operator
):
    decision_id = route_logged(demo_router, "where is my parcel")
    decision = DecisionLog.objects.get(pk=decision_id)
    feedback, created = feedback_from_user(
        decision=decision, user=operator, rating="down", expected_intent="complaint"
    )
    assert created and Feedback.objects.get(decision_id=decision_id).user == operator
    item = ReviewDecision.objects.get(decision_id=decision_id).item
    assert "thumbs_down" in item.reasons
    assert (item.suggested_intent, item.suggestion_source) == ("complaint", "feedback")
    feedback_from_user(decision=decision, user=operator, rating="up")
    assert Feedback.objects.filter(decision_id=decision_id).count() == 1


def test_quality_report_counts_reviewed_decisions_and_the_sample_rate(
    demo_router, route_logged, operator, settings
):
    settings.SEMROUTE_REVIEW_SAMPLE_RATE = 0.01
    from analytics.decision_log import decision_log
    from analytics.services import decision_record

    def sampled(query):
        decision_id = decision_record(
            router=demo_router,
            query=query,
            decision=decide(router=demo_router, query=query),
            principal=None,
            decision_id=sampled_id(),
        )
        decision_log.flush()
        return ReviewDecision.objects.get(decision_id=decision_id).item

    right, wrong = sampled("where is my parcel"), sampled("I can't log in")
    review_resolve(item=right, action="confirm", user=operator)
    review_resolve(item=wrong, action="relabel", intent="billing", user=operator)
    report = quality_report(demo_router)
    assert report.reviewed == 2
    assert (report.misrouting["count"], report.misrouting["total"]) == (1, 2)
    assert report.misrouting["value"] == 0.5
    low, high = report.misrouting["interval"]
    assert low < 0.5 < high
    cells = {(c["reviewed"], c["decided"]): c["count"] for c in report.cells}
    assert cells == {("shipping", "shipping"): 1, ("billing", "account_access"): 1}
    # The dashboards' quality section shows the same rate.
    span, _ = span_from({})
    summary = next(t for t in quality_tables(demo_router, span) if t.key == "quality_overall")
    [row] = [r for r in summary.rows if r[1].startswith("mis-routed")]
    assert row[2:5] == (1, 2, 50.0)
    assert report.per_intent["billing"]["recall"] == 0.0


def test_clusters_group_unhandled_queries_and_a_new_intent_takes_them(
    demo_router, route_logged, operator
):
    bread = [
        "how do I bake sourdough bread",
        "sourdough bread baking tips",
        "recipe for sourdough bread",
    ]
    for query in bread + ["what's the weather in Paris tomorrow"]:
        route_logged(demo_router, query)
    [cluster] = query_clusters(demo_router, similarity=0.6, min_size=3)
    assert sorted(item.query for item in cluster.items) == sorted(bread)
    assert cluster.size == 3
    before = _version(demo_router)
    intent = cluster_intent_create(
        router=demo_router, name="baking", description="Bread", items=cluster.items, user=operator
    )
    assert _version(demo_router) == before + 1
    assert sorted(intent.examples.values_list("text", flat=True)) == sorted(bread)
    assert set(ReviewItem.objects.filter(query__in=bread).values_list("status", flat=True)) == {
        "added"
    }
    labels = {label.text: label.intent for label in reviewed_labels(demo_router)}
    assert labels == {query: "baking" for query in bread}
