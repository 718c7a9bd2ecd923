"""The console's open alerts, for every page's top bar and a router's tabs (queried only when shown)."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

OPEN_ALERTS_SHOWN = 50


def _open_alerts() -> list:
    from analytics.alerts.models import Alert

    return list(Alert.objects.open().select_related("router")[:OPEN_ALERTS_SHOWN])


def open_alerts(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    alerts = SimpleLazyObject(_open_alerts)
    return {
        "open_alerts": alerts,
        "open_alert_router_ids": SimpleLazyObject(lambda: {a.router_id for a in alerts}),
    }
