"""Console forms of the evaluations pages."""

from __future__ import annotations

from django import forms

from analytics.evaluations.parsing import MAX_SET_ROWS

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
PART_CHOICES = [
    ("all", "every row"),
    ("held_out", "the held-out part"),
    ("rest", "everything but the held-out part"),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"CSV with a header `text,intent` (empty or `oos` intent: out of scope) or JSONL "
        f'lines {{"text": ..., "intent": ... or null}}; up to {MAX_SET_ROWS:,} rows.'
    )
    name = forms.CharField(max_length=200, required=False, help_text="Default: the file name.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,}."
            )
        return upload


class SplitForm(forms.Form):
    held_out_percent = forms.IntegerField(
        label="Held-out part (%)", min_value=0, max_value=90, initial=20
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)


class RunForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int, label="Router version")
    part = forms.ChoiceField(choices=PART_CHOICES, initial="all")
    use_llm = forms.BooleanField(
        required=False, label="Let the LLM stage decide ambiguous queries (costs calls)"
    )

    def __init__(self, *args, versions: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [
            (number, f"v{number}" + (" (current)" if i == 0 else ""))
            for i, number in enumerate(versions)
        ]
        if versions:
            self.fields["version"].initial = versions[0]


class TargetForm(forms.Form):
    """What the operator wants from a threshold: an in-scope floor, or a weighted trade-off."""

    min_in_scope = forms.FloatField(
        label="In-scope accuracy at least", min_value=0.0, max_value=1.0, initial=0.95
    )
    weight = forms.FloatField(
        label="Weight of in-scope accuracy (vs out-of-scope recall)",
        min_value=0.0,
        max_value=1.0,
        initial=0.5,
    )


class ApplyForm(forms.Form):
    threshold = forms.FloatField(min_value=0.0, max_value=1.0, required=False)
    intents = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, per_intent: dict[str, float], **kwargs):
        super().__init__(*args, **kwargs)
        self.per_intent = per_intent
        self.fields["intents"].choices = [
            (name, f"{name}: {value:.3f}") for name, value in sorted(per_intent.items())
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("threshold") is None and not cleaned.get("intents"):
            raise forms.ValidationError("Choose a router threshold or at least one intent's.")
        return cleaned


class CompareForm(forms.Form):
    a = forms.IntegerField(min_value=1, max_value=2**62)
    b = forms.IntegerField(min_value=1, max_value=2**62)
