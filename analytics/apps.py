from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics.experiments.judge import gateway_answered
        from analytics.experiments.plans import experiment_for
        from analytics.experiments.shadow import shadow_observing
        from analytics.services import decisions_record
        from analytics.traffic import recent_queries, traffic_today
        from routing.decision_hooks import decision_log_install

        decision_log_install(
            # Recorded decisions are also offered to a running shadow test (off the request path).
            record=shadow_observing(decisions_record),
            recent_queries=recent_queries,
            traffic_today=traffic_today,
            # Experiments: the router's running arm plan; the judge samples gateway answers.
            experiment_for=experiment_for,
            gateway_answered=gateway_answered,
        )
