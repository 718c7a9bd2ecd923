"""Console forms of the experiments room: a new experiment (up to three arms), weights, a shadow
test, the judge's settings. The services check everything that matters; forms only parse."""

from __future__ import annotations

from django import forms

from analytics.experiments.models import STICKY_CHOICES
from analytics.experiments.services import MAX_CONTROL_PERCENT, MAX_WEIGHT

FORM_ARMS = 3
POLICY_HELP = 'Policy fields over the version, as JSON, e.g. {"method": "knn", "threshold": 0.4}.'


class PolicyChangesField(forms.JSONField):
    """A JSON object of policy fields; empty means no changes (shown empty, not as `null`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Policy changes")
        kwargs.setdefault("help_text", POLICY_HELP)
        super().__init__(required=False, widget=forms.Textarea(attrs={"rows": 2}), **kwargs)

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)

    def clean(self, value):
        policy = super().clean(value) or {}
        if not isinstance(policy, dict):
            raise forms.ValidationError("Policy changes must be a JSON object.")
        return policy


def _arm_fields(prefix: str, *, name: str, required: bool) -> dict[str, forms.Field]:
    return {
        f"{prefix}_name": forms.CharField(
            label="Arm name", max_length=64, required=required, initial=name
        ),
        f"{prefix}_version": forms.IntegerField(
            label="Version", min_value=1, required=False, help_text="Empty: the current version."
        ),
        f"{prefix}_policy": PolicyChangesField(),
        f"{prefix}_weight": forms.FloatField(
            label="Weight", min_value=0.01, max_value=MAX_WEIGHT, initial=1, required=required
        ),
    }


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=200)
    control_percent = forms.FloatField(
        label="Control (%)",
        min_value=0,
        max_value=MAX_CONTROL_PERCENT,
        initial=5,
        help_text="Routed as usual, answered by the most expensive tier: the live benchmark.",
    )
    sticky_by = forms.ChoiceField(
        choices=STICKY_CHOICES,
        initial="user_id",
        help_text="The key that keeps a caller in one arm (then the other one, then per request).",
    )
    start = forms.BooleanField(required=False, initial=True, label="Start now")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index, name in enumerate(("current", "candidate", "")):
            self.fields.update(_arm_fields(f"arm{index}", name=name, required=index < 1))

    def arm_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"arm{index}_{part}"] for part in ("name", "version", "policy", "weight")]
            for index in range(FORM_ARMS)
        ]

    def arms(self) -> list[dict]:
        arms = []
        for index in range(FORM_ARMS):
            name = self.cleaned_data.get(f"arm{index}_name")
            if not name:
                continue
            policy = self.cleaned_data.get(f"arm{index}_policy")
            arm = {"name": name, "weight": self.cleaned_data.get(f"arm{index}_weight") or 1.0}
            if self.cleaned_data.get(f"arm{index}_version"):
                arm["version"] = self.cleaned_data[f"arm{index}_version"]
            if policy:
                arm["policy"] = policy
            arms.append(arm)
        return arms


class WeightsForm(forms.Form):
    control_percent = forms.FloatField(
        label="Control (%)", min_value=0, max_value=MAX_CONTROL_PERCENT
    )

    def __init__(self, *args, arms=(), **kwargs):
        super().__init__(*args, **kwargs)
        for arm in arms:
            self.fields[f"weight_{arm.name}"] = forms.FloatField(
                label=arm.name, min_value=0.01, max_value=MAX_WEIGHT, initial=arm.weight
            )

    def weights(self) -> dict[str, float]:
        return {
            name.removeprefix("weight_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("weight_")
        }


class ShadowForm(forms.Form):
    name = forms.CharField(max_length=200)
    version = forms.IntegerField(
        min_value=1, required=False, help_text="Empty: the current version."
    )
    policy = PolicyChangesField()
    sample_percent = forms.FloatField(label="Sample (%)", min_value=0.01, max_value=100, initial=10)


class JudgeSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    sample_percent = forms.FloatField(
        label="Sample of gateway answers (%)", min_value=0, max_value=100
    )
    judge_tier = forms.ChoiceField(required=False, help_text="Empty: the most expensive tier.")
    daily_budget_usd = forms.FloatField(
        label="Daily budget, judge and shadow (USD)", min_value=0, max_value=1_000_000
    )

    def __init__(self, *args, tiers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["judge_tier"].choices = [("", "most expensive tier")] + [
            (name, name) for name in tiers
        ]
