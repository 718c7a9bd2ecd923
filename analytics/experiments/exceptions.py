"""Experiment errors with their HTTP status (semroute_site/api.py maps every APIError once)."""

from routing.exceptions import APIError


class ExperimentConflict(APIError):
    """One experiment (or shadow test) runs per router; an ended one cannot change."""

    status = 409
    code = "conflict"
