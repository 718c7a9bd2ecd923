from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics.services import decisions_record
        from analytics.traffic import recent_queries, traffic_today
        from routing.decision_hooks import decision_log_install

        decision_log_install(
            record=decisions_record, recent_queries=recent_queries, traffic_today=traffic_today
        )
        from analytics.decision_log import decision_log
        from analytics.review.tasks import decisions_written

        if decisions_written not in decision_log.written_hooks:
            decision_log.written_hooks.append(decisions_written)
        from analytics.metrics import circuit_state_source_register, tier_circuit_pairs

        circuit_state_source_register(tier_circuit_pairs)
