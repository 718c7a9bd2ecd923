"""Reviewed labels become a labelled set as a snapshot (console, API); later reviews leave it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.evaluations.models import LabelledSet
from analytics.evaluations.services import labelled_set_from_review
from analytics.review.models import ReviewDecision
from analytics.review.services import review_resolve
from routing.exceptions import InvalidInput
from tests.review.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(demo_router, route_logged, operator):
    items = {
        q: ReviewDecision.objects.get(decision_id=route_logged(demo_router, q)).item
        for q in ("my card", "how do I bake sourdough bread", "money")
    }
    review_resolve(item=items["my card"], action="relabel", intent="billing", user=operator)
    review_resolve(
        item=items["how do I bake sourdough bread"], action="out_of_scope", user=operator
    )
    return items


def test_a_snapshot_keeps_its_labels_after_later_reviews(demo_router, reviewed, operator):
    labelled_set = labelled_set_from_review(router=demo_router, user=operator)
    rows = {row.text: row.intent for row in labelled_set.rows.all()}
    assert rows == {"my card": "billing", "how do I bake sourdough bread": None}
    assert (labelled_set.source, labelled_set.confirmed, labelled_set.row_count) == (
        "review",
        True,
        2,
    )
    review_resolve(item=reviewed["my card"], action="relabel", intent="small_talk", user=operator)
    review_resolve(item=reviewed["money"], action="confirm", user=operator)
    labelled_set.refresh_from_db()
    assert {row.text: row.intent for row in labelled_set.rows.all()} == rows
    newer = labelled_set_from_review(router=demo_router, user=operator)
    assert {row.text: row.intent for row in newer.rows.all()} == {
        "my card": "small_talk",
        "how do I bake sourdough bread": None,
        "money": "small_talk",
    }


def test_nothing_reviewed_is_refused(demo_router):
    with pytest.raises(InvalidInput, match="No reviewed label yet"):
        labelled_set_from_review(router=demo_router)


def test_console_buttons_build_the_set(client, operator, viewer, reviewed):
    client.force_login(viewer)
    assert client.post(reverse("evaluations:set_from_review", args=["support"])).status_code == 403
    client.force_login(operator)
    home = client.get(reverse("evaluations:home", args=["support"])).content.decode()
    assert "Build a set from reviewed labels" in home
    labels = client.get(reverse("review:labels", args=["support"])).content.decode()
    assert "Snapshot as a labelled set" in labels
    response = client.post(
        reverse("evaluations:set_from_review", args=["support"]), {"name": "week 48"}
    )
    labelled_set = LabelledSet.objects.get(name="week 48")
    assert response["Location"] == reverse("evaluations:set", args=["support", labelled_set.pk])
    assert labelled_set.row_count == 2


def test_api_builds_the_set_with_the_evaluate_scope(client_for, reviewed, demo_router):
    response = client_for(scopes=["evaluate"]).post("routers/support/sets/from-review?name=ci")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["rows"]) == ("ci", 2)
    assert LabelledSet.objects.get(pk=body["id"]).source == "review"
    refused = client_for(scopes=["review"]).post("routers/support/sets/from-review")
    assert error_of(refused)["code"] == "permission_denied"


def test_api_without_reviews_answers_422(client_for, demo_router):
    response = client_for(scopes=["evaluate"]).post("routers/support/sets/from-review")
    assert response.status_code == 422
    assert "No reviewed label yet" in error_of(response)["message"]
