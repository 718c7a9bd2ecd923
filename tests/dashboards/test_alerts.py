"""Each alert fires on a constructed series and not on a flat one; webhooks are signed and retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.cache import cache

from analytics.alerts.models import Alert, AlertKind, AlertSettings, WebhookDelivery
from analytics.alerts.services import alerts_evaluate
from analytics.alerts.webhooks import MAX_ATTEMPTS, deliveries_due
from analytics.dashboards.rollups import rollup_run
from analytics.decision_log import DecisionLogBuffer, decision_rows_write
from analytics.metrics import DEAD_LETTERS_CACHE_KEY
from analytics.models import Feedback
from tests.dashboards.conftest import NOW, decision_row

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_dead_letters_counted():
    cache.delete(DEAD_LETTERS_CACHE_KEY)
    yield
    cache.delete(DEAD_LETTERS_CACHE_KEY)


def _week(
    router,
    *,
    weeks_ago: int,
    count: int,
    escalated: int = 0,
    intent="refund",
    tier="cheap",
    **fields,
):
    start = NOW - timedelta(days=7 * weeks_ago + 6)
    rows = [
        decision_row(
            router,
            start + timedelta(minutes=30 * i),
            channel="gateway",
            intent=intent,
            tier=tier,
            escalations=1 if i < escalated else 0,
            **fields,
        )
        for i in range(count)
    ]
    decision_rows_write(rows)
    return rows


def _kinds(router) -> set[tuple[str, str]]:
    return set(Alert.objects.open().filter(router=router).values_list("kind", "subject"))


def _evaluate(router):
    rollup_run(now=NOW)
    return alerts_evaluate(now=NOW)


def test_escalation_rise_over_two_points_fires(demo_router):
    _week(demo_router, weeks_ago=1, count=100, escalated=2)
    _week(demo_router, weeks_ago=0, count=100, escalated=6)
    _evaluate(demo_router)
    assert _kinds(demo_router) == {(AlertKind.ESCALATION_RISE, "cheap")}
    alert = Alert.objects.get(router=demo_router)
    assert alert.value == 4.0 and alert.threshold == 2.0
    assert "6.0% this week (6 of 100)" in alert.message


def test_flat_escalation_rate_does_not_fire(demo_router):
    _week(demo_router, weeks_ago=1, count=100, escalated=4)
    _week(demo_router, weeks_ago=0, count=100, escalated=6)  # exactly 2 points: not more than 2
    _evaluate(demo_router)
    assert _kinds(demo_router) == set()


def test_an_alert_resolves_when_the_series_flattens(demo_router):
    _week(demo_router, weeks_ago=1, count=100, escalated=2)
    _week(demo_router, weeks_ago=0, count=100, escalated=6)
    _evaluate(demo_router)
    _week(demo_router, weeks_ago=0, count=100, escalated=0, tier="cheap")  # this week: 6 of 200
    result = _evaluate(demo_router)
    assert result.resolved == 1 and _kinds(demo_router) == set()


def test_thumbs_down_over_the_bar_fires_and_under_it_does_not(demo_router):
    rows = _week(demo_router, weeks_ago=0, count=60)
    Feedback.objects.bulk_create(
        [
            Feedback(decision_id=r.id, rating="down" if i < 5 else "up")
            for i, r in enumerate(rows[:40])
        ]
    )
    _evaluate(demo_router)
    assert _kinds(demo_router) == {(AlertKind.THUMBS_DOWN, "")}  # 5 of 40 = 12.5% > 10%
    AlertSettings.objects.create(router=demo_router, thumbs_down_bar=0.2)
    alerts_evaluate(now=NOW)
    assert _kinds(demo_router) == set()


def test_drift_fires_on_a_changed_mix_and_not_on_the_same_one(demo_router):
    for weeks_ago in (1, 2, 3, 4):
        _week(demo_router, weeks_ago=weeks_ago, count=40, intent="refund")
    _week(demo_router, weeks_ago=0, count=40, intent="refund")
    _evaluate(demo_router)
    assert _kinds(demo_router) == set()
    _week(demo_router, weeks_ago=0, count=120, intent="cancel")
    _evaluate(demo_router)
    assert _kinds(demo_router) == {(AlertKind.DRIFT, "intent")}


def test_budget_fires_once_the_month_spends_past_it(demo_router):
    _week(demo_router, weeks_ago=0, count=50, estimated_cost_usd=0.01)  # $0.50 this month
    AlertSettings.objects.create(router=demo_router, monthly_budget_usd=1.0)
    _evaluate(demo_router)
    assert _kinds(demo_router) == set()
    AlertSettings.objects.filter(router=demo_router).update(monthly_budget_usd=0.4)
    alerts_evaluate(now=NOW)
    assert _kinds(demo_router) == {(AlertKind.BUDGET, "")}


def test_a_dead_lettered_decision_raises_the_installation_alert(demo_router):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a NUL byte is refused by PostgreSQL only (SQLite stores it)")
    alerts_evaluate(now=NOW)
    assert not Alert.objects.filter(kind=AlertKind.DEAD_LETTERS).exists()
    buffer = DecisionLogBuffer(flush_seconds=60, batch_size=10, max_pending=10, autostart=False)
    buffer.append(decision_row(demo_router, NOW, query="bad \x00 byte"))
    buffer.flush()
    assert buffer.dead_lettered == 1
    from analytics import metrics

    metrics.decision_log, real = buffer, metrics.decision_log
    try:
        alerts_evaluate(now=NOW)
    finally:
        metrics.decision_log = real
    alert = Alert.objects.open().get(kind=AlertKind.DEAD_LETTERS)
    assert alert.router is None and alert.value == 1


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    failures_left = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.failures_left = [], 2
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_webhook_is_signed_and_retried_until_delivered(
    demo_router, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)  # the task's first attempt reads the clock
    AlertSettings.objects.create(
        router=demo_router, webhook_url=receiver, webhook_secret="s3cret", monthly_budget_usd=0.1
    )
    _week(demo_router, weeks_ago=0, count=20, estimated_cost_usd=0.01)
    rollup_run(now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(now=NOW)  # the first attempt runs after commit (eager Celery): 503
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 503)
    assert deliveries_due(now=NOW) == 0  # not due before its backoff
    assert deliveries_due(now=NOW + timedelta(minutes=2)) == 1  # 503 again
    assert deliveries_due(now=NOW + timedelta(minutes=10)) == 1  # delivered
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 3, 204)
    assert len(_Receiver.received) == 3
    headers, body = _Receiver.received[-1]
    expected = hmac.new(
        b"s3cret", headers["X-Semroute-Timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["X-Semroute-Signature"] == "sha256=" + expected.hexdigest()
    payload = json.loads(body)
    assert payload["event"] == "alert.opened"
    assert payload["alert"]["kind"] == "budget" and payload["alert"]["router"] == demo_router.slug


def test_webhook_gives_up_after_its_attempts(demo_router, receiver):
    _Receiver.failures_left = 100
    AlertSettings.objects.create(
        router=demo_router, webhook_url=receiver, webhook_secret="k", monthly_budget_usd=0.1
    )
    _week(demo_router, weeks_ago=0, count=20, estimated_cost_usd=0.01)
    rollup_run(now=NOW)
    alerts_evaluate(now=NOW)  # on_commit never runs inside the test transaction
    for hour in range(1, MAX_ATTEMPTS + 3):
        deliveries_due(now=NOW + timedelta(hours=hour))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(_Receiver.received) == MAX_ATTEMPTS
