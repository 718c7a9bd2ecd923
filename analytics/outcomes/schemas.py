"""Schemas of the outcomes API."""

from __future__ import annotations

from ninja import Field, Schema

from analytics.outcomes.models import MAX_OUTCOME_QUERY_CHARS


class OutcomeItemIn(Schema):
    query: str = Field(..., max_length=MAX_OUTCOME_QUERY_CHARS)
    tier: str = Field(..., max_length=64, description="A tier of the router, by name.")
    good: bool | None = Field(None, description="Was the tier's answer good? (or send score)")
    score: float | None = Field(None, description="The answer's quality, 0 (bad) to 1 (good).")


class OutcomesIn(Schema):
    outcomes: list[OutcomeItemIn] = Field(
        ..., description="Up to 10,000 per call; send several calls for more."
    )
    train: bool = Field(
        False, description="Fit the quality predictor afterwards (a task; poll its id)."
    )


class OutcomesOut(Schema):
    imported: int
    outcomes_total: int = Field(..., description="Outcome records the router has now.")
    training: int | None = Field(None, description="The id of the fit started, when train=true.")


class QualityTrainingOut(Schema):
    id: int
    state: str
    phase: str
    done: int
    total: int
    error: str
    metrics: dict
