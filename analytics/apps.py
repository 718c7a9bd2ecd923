from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics.services import decisions_record
        from routing.decision_hooks import decision_log_install

        decision_log_install(record=decisions_record)
