"""Evaluation errors that reach API clients (semroute_site/api.py maps APIError subclasses)."""

from __future__ import annotations

from routing.exceptions import APIError, InvalidInput


class LabelledSetRefused(InvalidInput):
    """Some rows of a labelled set were refused; nothing was saved. details: the report."""

    code = "labelled_set_refused"


class EvaluationConflict(APIError):
    """The run is in a state that does not allow the action (e.g. apply before it is done)."""

    status = 409
    code = "evaluation_conflict"
