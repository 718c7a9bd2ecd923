"""Experiments API schemas: what a caller sends, and an experiment with its per-arm results."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, StrictBool

from analytics.experiments.services import MAX_ARMS, MAX_CONTROL_PERCENT, MAX_WEIGHT


class ArmIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=64)
    version: int | None = Field(None, ge=1, le=2_147_483_647, description="A router version.")
    policy: dict[str, Any] | None = Field(
        None, description="Policy fields (as in the config document) over the version's policy."
    )
    weight: float = Field(1.0, gt=0, le=MAX_WEIGHT)


class ExperimentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=200)
    arms: list[ArmIn] = Field(..., min_length=1, max_length=MAX_ARMS)
    control_percent: float = Field(
        5.0, ge=0, le=MAX_CONTROL_PERCENT, description="Share answered by the most expensive tier."
    )
    sticky_by: Literal["user_id", "session_id"] = "user_id"
    start: StrictBool = True


class WeightsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(default_factory=dict)
    control_percent: float | None = Field(None, ge=0, le=MAX_CONTROL_PERCENT)


class PromoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    arm: str | None = Field(
        None, max_length=64, description="Default: the cheapest arm not significantly worse."
    )


class ArmOut(Schema):
    name: str
    version: int | None
    policy: dict[str, Any]
    weight: float
    control: bool


class ExperimentOut(Schema):
    id: int
    router: str
    name: str
    status: str
    sticky_by: str
    control_percent: float
    allocation: list[list[Any]] = Field(
        description="[first bucket, end bucket, arm] over 10,000 buckets of hash(id, key)."
    )
    arms: list[ArmOut]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    promoted_arm: str
    promoted_version: int | None
    results: list[dict[str, Any]] = Field(
        description="Per arm: traffic, cost, latency, rates; intervals and the test against the "
        "reference arm, with its minimum sample."
    )
    winner: str | None = Field(description="The cheapest arm not significantly worse, if any.")
