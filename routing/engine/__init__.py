"""The routing engine: pure Python + numpy, no Django. A frozen snapshot in, a Decision out."""

from .cache import DecisionCache, LocalDecisionCache, decision_cache_key, normalise_query
from .decision import Decision, IntentScore, NearestExample, StageTiming, Trace
from .encoders import (
    LOCAL_ENCODER_NAME,
    LOCAL_FAST_ENCODER_NAME,
    Encoder,
    LocalOnnxEncoder,
    OpenAIEncoder,
    count_tokens,
    encoder_from_name,
)
from .errors import (
    EncoderIntegrityError,
    EncoderMismatch,
    EngineError,
    LLMStageError,
    SnapshotError,
)
from .llm_stage import ChatIntentLLM, CooldownIntentLLM, IntentLLM
from .router import CompiledRouter, compile_router
from .snapshot import IntentSpec, Policy, RouterSnapshot, RuleSpec, TierSpec

__all__ = [
    "LOCAL_ENCODER_NAME",
    "LOCAL_FAST_ENCODER_NAME",
    "ChatIntentLLM",
    "CompiledRouter",
    "CooldownIntentLLM",
    "Decision",
    "DecisionCache",
    "Encoder",
    "EncoderIntegrityError",
    "EncoderMismatch",
    "EngineError",
    "IntentLLM",
    "IntentScore",
    "IntentSpec",
    "LLMStageError",
    "LocalDecisionCache",
    "LocalOnnxEncoder",
    "NearestExample",
    "OpenAIEncoder",
    "Policy",
    "RouterSnapshot",
    "RuleSpec",
    "SnapshotError",
    "StageTiming",
    "TierSpec",
    "Trace",
    "compile_router",
    "count_tokens",
    "decision_cache_key",
    "encoder_from_name",
    "normalise_query",
]
