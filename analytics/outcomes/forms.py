"""Console forms of the outcomes pages."""

from __future__ import annotations

from django import forms

from analytics.outcomes.parsing import MAX_FILE_OUTCOMES

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class OutcomeUploadForm(forms.Form):
    file = forms.FileField(
        # Django does not escape help texts: no angle brackets here.
        help_text="CSV query,tier,good (or score 0-1); RouteLLM's CSV prompt,X_correct,Y_correct "
        "(X the cheap model, Y the strong one: choose their tiers below); or JSONL lines "
        f'{{"query", "tier", "good" or "score"}}. Up to {MAX_FILE_OUTCOMES:,} outcomes.'
    )
    cheap_tier = forms.ChoiceField(
        required=False, label="RouteLLM: tier of the first (cheap) column"
    )
    strong_tier = forms.ChoiceField(
        required=False, label="RouteLLM: tier of the second (strong) column"
    )
    train = forms.BooleanField(required=False, initial=True, label="Fit the predictor afterwards")

    def __init__(self, *args, tiers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(name, name) for name in tiers]
        self.fields["cheap_tier"].choices = choices
        self.fields["strong_tier"].choices = choices
        if tiers:
            self.fields["cheap_tier"].initial = tiers[0]
            self.fields["strong_tier"].initial = tiers[-1]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,}."
            )
        return upload


class TrainingForm(forms.Form):
    method = forms.ChoiceField(
        choices=[("logistic", "logistic head"), ("knn", "kNN over outcome vectors")],
        initial="logistic",
    )
    held_out_percent = forms.IntegerField(
        label="Held-out part (%)", min_value=5, max_value=80, initial=30
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)


class TargetForm(forms.Form):
    target = forms.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        label="Explore a quality target",
        help_text="0-1; the saved one is on the policy page.",
    )
