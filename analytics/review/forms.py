"""Forms of the review pages: the decision browser's filters, feedback, resolving, clusters."""

from __future__ import annotations

from django import forms

from analytics.review.models import ReviewReason, ReviewStatus
from analytics.review.selectors import NO_INTENT, DecisionFilter
from routing.engine.decision import STAGES
from routing.models import Router

CHANNELS = ("api", "batch", "gateway", "playground", "console")


class DecisionFilterForm(forms.Form):
    intent = forms.ChoiceField(required=False)
    tier = forms.ChoiceField(required=False)
    stage = forms.ChoiceField(
        required=False, choices=[("", "any stage"), *[(s, s) for s in STAGES]]
    )
    confidence_min = forms.FloatField(
        required=False, min_value=0, max_value=1, label="confidence ≥"
    )
    confidence_max = forms.FloatField(
        required=False, min_value=0, max_value=1, label="confidence ≤"
    )
    feedback = forms.ChoiceField(
        required=False,
        choices=[
            ("", "any feedback"),
            ("down", "thumbs down"),
            ("up", "thumbs up"),
            ("none", "none"),
        ],
    )
    escalated = forms.BooleanField(required=False)
    reasked = forms.BooleanField(required=False, label="re-asked")
    since = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    text = forms.CharField(required=False, max_length=200, label="query contains")
    channel = forms.ChoiceField(
        required=False,
        choices=[("traffic", "traffic (no console)"), ("all", "all channels")]
        + [(c, c) for c in CHANNELS],
    )

    def __init__(self, *args, router: Router, **kwargs):
        super().__init__(*args, **kwargs)
        intents = list(router.intents.order_by("name").values_list("name", flat=True))
        self.fields["intent"].choices = [("", "any intent"), (NO_INTENT, "no intent")] + [
            (name, name) for name in intents
        ]
        tiers = list(router.tiers.order_by("rank", "name").values_list("name", flat=True))
        self.fields["tier"].choices = [("", "any tier")] + [(name, name) for name in tiers]

    def decision_filter(self) -> DecisionFilter:
        values = self.cleaned_data if self.is_valid() else {}
        return DecisionFilter(
            intent=values.get("intent") or None,
            tier=values.get("tier") or None,
            stage=values.get("stage") or None,
            confidence_min=values.get("confidence_min"),
            confidence_max=values.get("confidence_max"),
            feedback=values.get("feedback") or None,
            escalated=bool(values.get("escalated")),
            reasked=bool(values.get("reasked")),
            since=values.get("since"),
            until=values.get("until"),
            text=(values.get("text") or "").strip(),
            channel=values.get("channel") or "traffic",
        )


class FeedbackForm(forms.Form):
    rating = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    expected_intent = forms.CharField(required=False, max_length=64)


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[*ReviewStatus.choices, ("all", "all")], initial="open"
    )
    reason = forms.ChoiceField(required=False, choices=[("", "any reason"), *ReviewReason.choices])


class ClusterIntentForm(forms.Form):
    name = forms.CharField(max_length=64)
    description = forms.CharField(required=False, max_length=2000)
    items = forms.CharField(max_length=200_000, widget=forms.HiddenInput)

    def item_ids(self) -> list[int]:
        return [int(part) for part in self.cleaned_data["items"].split(",") if part.isdigit()]
