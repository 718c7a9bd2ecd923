"""Console forms. They validate input; the services in routing/services/ make the changes.

Configuration forms are built from the model fields, whose validators take their bounds from
routing/config_schema.py: the console accepts exactly what the import and the admin accept.
"""

from __future__ import annotations

import copy

from django import forms
from django.conf import settings

from routing.config_schema import MAX_EXAMPLE_CHARS, TIER_FIELDS
from routing.engine.snapshot import CLASSIFICATION_METHODS, RULE_KINDS
from routing.models import Intent, ModelTier, Router, Rule

MAX_BATCH_QUERIES = 500
MAX_PASTE_CHARS = 200_000


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class RouterScopedForm(forms.ModelForm):
    """A ModelForm whose intent/tier choices are limited to one router."""

    def __init__(self, *args, router: Router, **kwargs):
        super().__init__(*args, **kwargs)
        self.router = router
        if self.instance.router_id is None:
            self.instance.router = router
        for name, queryset in (
            ("min_tier", ModelTier.objects.filter(router=router)),
            ("tier", ModelTier.objects.filter(router=router)),
            ("intent", Intent.objects.filter(router=router)),
        ):
            if name in self.fields:
                self.fields[name].queryset = queryset


class IntentForm(RouterScopedForm):
    class Meta:
        model = Intent
        fields = ["name", "handler", "description", "threshold", "min_tier", "enabled"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class IntentInlineForm(RouterScopedForm):
    class Meta:
        model = Intent
        fields = ["handler", "threshold", "min_tier", "enabled"]


class RuleForm(RouterScopedForm):
    class Meta:
        model = Rule
        fields = [
            "kind",
            "pattern",
            "scope",
            "priority",
            "action",
            "intent",
            "tier",
            "reason",
            "enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].required = False  # left out (older forms, scripts): as it was

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or self.instance.scope


class TierForm(RouterScopedForm):
    class Meta:
        model = ModelTier
        fields = list(TIER_FIELDS)

    # The gateway's fields have defaults: a form (or a script) that leaves them out keeps them.
    DEFAULTED = ("context_window", "connect_timeout_seconds", "timeout_seconds", "max_retries")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.DEFAULTED:
            self.fields[name].required = False

    def clean(self):
        cleaned = super().clean()
        for name in self.DEFAULTED:
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class ExampleForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_EXAMPLE_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "A query that belongs here"}),
    )


class BulkExamplesForm(forms.Form):
    texts = forms.CharField(
        max_length=MAX_PASTE_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "One example per line"}),
    )

    def lines(self) -> list[str]:
        return self.cleaned_data["texts"].splitlines()


class ExampleSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)


class PatternTestForm(forms.Form):
    kind = forms.ChoiceField(choices=_choices(RULE_KINDS), initial="keyword")
    pattern = forms.CharField(max_length=500)


class PolicyForm(forms.ModelForm):
    """The router's policy fields; cleaned_data maps straight onto router_policy_update(changes=...).

    Validated on a copy of the router, so the view's router keeps its saved values until the
    service saves the change (and can tell what changed).
    """

    class Meta:
        model = Router
        fields = list(Router.POLICY_FIELDS)
        help_texts = {
            "similarity_floor": "In-domain check. Empty: learned from the examples; -1: off."
        }
        # A select, not a checkbox: an unticked box posts nothing, which here keeps the saved value.
        widgets = {
            name: forms.Select(choices=[(True, "on"), (False, "off")])
            for name in ("detect_negation", "split_intents", "detect_language")
        }

    def __init__(self, data=None, *args, router: Router, **kwargs):
        if data is not None:
            # A post that leaves a policy field out keeps its saved value (older pages and scripts
            # post only the fields they know).
            data = data.copy()
            for name in Router.POLICY_FIELDS:
                if name not in data:
                    value = getattr(
                        router, f"{name}_id" if name in Router.POLICY_REFERENCES else name
                    )
                    data[name] = "" if value is None else value
        super().__init__(data, *args, instance=copy.copy(router), **kwargs)
        self.fields["fallback_intent"].queryset = Intent.objects.filter(router=router)
        self.fields["fallback_tier"].queryset = ModelTier.objects.filter(router=router)


class QueryForm(forms.Form):
    q = forms.CharField(label="Query", max_length=settings.SEMROUTE_MAX_QUERY_CHARS)


class CompareForm(QueryForm):
    method_b = forms.ChoiceField(
        label="Strategy B method", choices=_choices(CLASSIFICATION_METHODS), initial="centroid"
    )
    threshold_b = forms.FloatField(
        label="Strategy B threshold", min_value=0.0, max_value=1.0, required=False
    )


class BatchForm(forms.Form):
    queries = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "One query per line (up to 500)"}),
        max_length=MAX_PASTE_CHARS,
    )

    def clean_queries(self) -> list[str]:
        lines = [" ".join(line.split()) for line in self.cleaned_data["queries"].splitlines()]
        queries = [line for line in lines if line]
        if not queries:
            raise forms.ValidationError("Paste at least one query.")
        if len(queries) > MAX_BATCH_QUERIES:
            raise forms.ValidationError(
                f"At most {MAX_BATCH_QUERIES} queries per batch (got {len(queries)})."
            )
        return queries


class CorrectionForm(QueryForm):
    intent = forms.ModelChoiceField(queryset=Intent.objects.none(), to_field_name="name")

    def __init__(self, *args, router: Router, **kwargs):
        super().__init__(*args, **kwargs)
        # The router's own manager: the chosen intent's router is `router` itself (see views._intent).
        self.fields["intent"].queryset = router.intents.all()
