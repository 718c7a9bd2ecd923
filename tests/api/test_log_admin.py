import pytest

from analytics.decision_log import decision_log
from analytics.models import DecisionLog, Feedback

pytestmark = pytest.mark.django_db


def test_decision_log_and_feedback_are_browsable_and_read_only_in_the_admin(
    api, demo_router, superuser, client
):
    decision = api.post(f"routers/{demo_router.slug}/route", {"query": "where is my order"}).json()
    api.post(f"decisions/{decision['decision_id']}/feedback", {"rating": "down"})
    decision_log.flush()
    client.force_login(superuser)
    assert client.get("/admin/analytics/decisionlog/", {"q": "order"}).status_code == 200
    assert client.get("/admin/analytics/feedback/").status_code == 200
    row = DecisionLog.objects.get()
    page = client.get(f"/admin/analytics/decisionlog/{row.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert client.get("/admin/analytics/decisionlog/add/").status_code == 403
    assert Feedback.objects.count() == 1
