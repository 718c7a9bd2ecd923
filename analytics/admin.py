"""Django admin for the decision log and feedback: read-only records, searchable and filterable."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import DecisionLog, Feedback
from routing.admin import ReadOnlyAdmin


@admin.register(DecisionLog)
class DecisionLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "router",
        "router_version",
        "short_query",
        "intent",
        "confidence",
        "stage",
        "tier",
        "cached",
        "channel",
    )
    list_filter = ("router", "stage", "tier", "complexity", "cached", "blocked", "channel")
    search_fields = ("query", "intent", "user_ref", "session_ref", "=id")
    date_hierarchy = "created_at"
    list_select_related = ("router",)
    show_full_result_count = False  # the log is large; COUNT(*) on every page is not free

    @admin.display(description="query")
    def short_query(self, obj: DecisionLog) -> str:
        return obj.query[:80]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "decision_id", "rating", "expected_intent", "api_key", "user")
    list_filter = ("rating",)
    search_fields = ("=decision_id", "comment", "expected_intent")
    list_select_related = ("api_key", "user")
