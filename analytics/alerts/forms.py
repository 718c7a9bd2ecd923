from django import forms

from analytics.alerts.models import AlertSettings


class AlertSettingsForm(forms.ModelForm):
    class Meta:
        model = AlertSettings
        fields = [
            "escalation_rise_points",
            "thumbs_down_bar",
            "drift_threshold",
            "monthly_budget_usd",
            "webhook_url",
            "webhook_secret",
        ]
        widgets = {"webhook_secret": forms.PasswordInput(render_value=True)}

    def clean_escalation_rise_points(self):
        value = self.cleaned_data["escalation_rise_points"]
        if not 0 < value <= 100:
            raise forms.ValidationError("Between 0 and 100 percentage points.")
        return value

    def clean_thumbs_down_bar(self):
        value = self.cleaned_data["thumbs_down_bar"]
        if not 0 < value <= 1:
            raise forms.ValidationError("A fraction above 0 and at most 1 (0.10 is 10%).")
        return value

    def clean_drift_threshold(self):
        value = self.cleaned_data["drift_threshold"]
        if not 0 < value <= 1:
            raise forms.ValidationError("A divergence above 0 and at most 1.")
        return value

    def clean_monthly_budget_usd(self):
        value = self.cleaned_data["monthly_budget_usd"]
        if value is not None and not 0 < value < 1e12:
            raise forms.ValidationError("A positive amount in USD, or empty for no budget.")
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("webhook_url") and not cleaned.get("webhook_secret"):
            self.add_error("webhook_secret", "A webhook needs a secret to sign its requests.")
        return cleaned
