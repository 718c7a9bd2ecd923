"""Request and response schemas of the evaluations API."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict, model_validator

from analytics.evaluations.parsing import MAX_SET_ROWS

# Longer texts are refused by the set's own check (with the example limit named); this bound
# only keeps a request from carrying megabytes in one field.
MAX_TEXT_FIELD = 20_000


class LabelledExampleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=MAX_TEXT_FIELD)
    intent: str | None = Field(None, max_length=200, description="null: out of scope.")


class EvaluationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    examples: list[LabelledExampleIn] | None = Field(None, max_length=MAX_SET_ROWS)
    set: int | None = Field(
        None, ge=1, le=2**62, description="A labelled set's id (instead of examples)."
    )
    part: Literal["all", "held_out", "rest"] = "all"
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Default: the current version."
    )
    use_llm: bool = Field(False, description="Let the LLM stage decide ambiguous queries.")
    name: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.examples is None) == (self.set is None):
            raise ValueError("send either `examples` or `set`, not both and not neither")
        return self


class EvaluationStartOut(Schema):
    id: int
    status: str


class ProgressOut(Schema):
    done: int
    total: int


class IntentMetricsOut(Schema):
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


class MetricsOut(Schema):
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None
    oos_precision: float | None = None
    top1_accuracy: float | None = None
    per_intent: dict[str, IntentMetricsOut] = {}


class SuggestionsOut(Schema):
    threshold: float | None = None
    per_intent_thresholds: dict[str, float] = {}


class EvaluationOut(Schema):
    id: int
    status: str
    router: str
    version: int
    set: int
    progress: ProgressOut
    error: str
    metrics: MetricsOut | None
    suggestions: SuggestionsOut | None
    produced_version: int | None


class RefusedRowOut(Schema):
    line: int
    kind: str
    reason: str
    text: str
    intent: str | None


class UploadReportOut(Schema):
    accepted: int
    refused: int
    by_kind: dict[str, int]
    rows: list[RefusedRowOut]


class LabelledSetOut(Schema):
    id: int | None = Field(None, description="null for a dry run: nothing was saved.")
    name: str
    rows: int
    held_out: int = 0
    dry_run: bool = False
    report: UploadReportOut | None = None
