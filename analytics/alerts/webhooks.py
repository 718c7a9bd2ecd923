"""Alert webhooks: a JSON POST per alert opened or resolved, signed with HMAC-SHA256, retried.

Headers: `X-Semroute-Event` (alert.opened / alert.resolved), `X-Semroute-Timestamp` (Unix
seconds) and `X-Semroute-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`;
a receiver recomputes it with the router's webhook secret and refuses old timestamps. A delivery
that fails (connection error, timeout, any non-2xx) is retried with exponential backoff
(RETRY_BASE_SECONDS * 2**attempt) up to MAX_ATTEMPTS, then marked failed. The secret is read at
each attempt, so a rotated secret signs the retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from analytics.alerts.models import Alert, AlertSettings, WebhookDelivery

logger = logging.getLogger("semroute.alerts")

# No redirects followed (a signed body goes only where the operator pointed it), no proxy guessing.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    type(
        "_NoRedirect",
        (urllib.request.HTTPRedirectHandler,),
        {"redirect_request": lambda *a, **k: None},
    )(),
)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
TIMEOUT_SECONDS = 5.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def alert_payload(alert: Alert, event: str) -> dict:
    return {
        "event": f"alert.{event}",
        "alert": {
            "id": alert.pk,
            "router": alert.router.slug if alert.router_id else None,
            "kind": alert.kind,
            "subject": alert.subject,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
    }


def delivery_enqueue(*, alert: Alert, event: str, url: str, now: datetime) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        alert=alert, url=url, event=event, payload=alert_payload(alert, event), next_attempt_at=now
    )

    def send() -> None:
        from analytics.alerts.tasks import webhook_deliver_task

        webhook_deliver_task.delay(delivery.pk)

    transaction.on_commit(send)
    return delivery


def delivery_attempt(delivery_id: int, *, now: datetime | None = None) -> WebhookDelivery | None:
    """Try one delivery once if it is due; a claim by conditional update makes a rerun harmless."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("alert").filter(pk=delivery_id).first()
    if (
        delivery is None
        or delivery.state != WebhookDelivery.State.PENDING
        or delivery.next_attempt_at > now
    ):
        return delivery
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, state=WebhookDelivery.State.PENDING, attempts=delivery.attempts
    ).update(
        attempts=delivery.attempts + 1, next_attempt_at=now + timedelta(seconds=TIMEOUT_SECONDS * 4)
    )
    if not claimed:
        return delivery
    delivery.attempts += 1
    rules = AlertSettings.objects.filter(router_id=delivery.alert.router_id).first()
    secret = rules.webhook_secret if rules else ""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "semroute-alerts/1",
        "X-Semroute-Event": delivery.payload["event"],
        "X-Semroute-Timestamp": timestamp,
        "X-Semroute-Signature": signature(secret, timestamp, body),
    }
    error, status = "", None
    request = urllib.request.Request(delivery.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, timed out, unreachable, a bad URL
        error = f"{type(exc).__name__}: {exc}"[:300]
    if status is not None and not error and not 200 <= status < 300:
        error = f"HTTP {status}"
    delivery.last_status, delivery.last_error = status, error
    if not error:
        delivery.state = WebhookDelivery.State.DELIVERED
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = WebhookDelivery.State.FAILED
        logger.error(
            "Alert webhook to %s failed %d times: %s", delivery.url, delivery.attempts, error
        )
    else:
        delivery.next_attempt_at = now + timedelta(
            seconds=RETRY_BASE_SECONDS * 2**delivery.attempts
        )
        logger.warning(
            "Alert webhook to %s failed (attempt %d): %s", delivery.url, delivery.attempts, error
        )
    delivery.save(update_fields=["state", "last_status", "last_error", "next_attempt_at"])
    return delivery


def deliveries_due(*, now: datetime | None = None) -> int:
    """Attempt every pending delivery that is due; returns how many were attempted."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now
    )
    attempted = 0
    for delivery_id in due.values_list("pk", flat=True)[:500]:
        delivery_attempt(delivery_id, now=now)
        attempted += 1
    return attempted
