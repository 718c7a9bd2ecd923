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
        from analytics.decision_log import decision_log
        from analytics.review.tasks import decisions_written

        if decisions_written not in decision_log.written_hooks:
            decision_log.written_hooks.append(decisions_written)
        from analytics.metrics import circuit_state_source_register, tier_circuit_pairs

        circuit_state_source_register(tier_circuit_pairs)
