import numpy as np
import pytest

from routing.engine import LOCAL_ENCODER_NAME, LOCAL_FAST_ENCODER_NAME, compile_router
from routing.models import ComplexityExample, Example, Intent
from routing.services.examples import example_add
from routing.snapshots import router_snapshot_build
from routing.vectors import active_encoder, example_vectors_compute

pytestmark = pytest.mark.django_db


def test_new_example_gets_a_normalised_vector_from_the_active_encoder(
    demo_router, django_capture_on_commit_callbacks
):
    refund = Intent.objects.get(router=demo_router, name="refund")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        example = example_add(intent=refund, text="please send my money back to my visa")
    example.refresh_from_db()
    assert len(callbacks) == 1  # the vector task, enqueued after commit
    vector = np.frombuffer(bytes(example.vector), dtype=np.float32)
    assert example.encoder == LOCAL_FAST_ENCODER_NAME
    assert vector.shape == (384,) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_vectors_from_another_encoder_are_recomputed(demo_router):
    stale = Example.objects.filter(intent__router=demo_router)[:5]
    ids = [e.pk for e in stale]
    Example.objects.filter(pk__in=ids).update(
        encoder="openai:text-embedding-3-small", vector=b"\x00" * 16
    )
    written = example_vectors_compute(router_id=demo_router.pk)
    assert written == 5
    for example in Example.objects.filter(pk__in=ids):
        assert example.encoder == LOCAL_FAST_ENCODER_NAME and len(bytes(example.vector)) == 384 * 4


def test_recompute_is_idempotent(demo_router):
    assert example_vectors_compute(router_id=demo_router.pk) == 0
    assert (
        not Example.objects.filter(intent__router=demo_router)
        .needing_vectors(LOCAL_FAST_ENCODER_NAME)
        .exists()
    )
    assert (
        not ComplexityExample.objects.filter(router=demo_router)
        .needing_vectors(LOCAL_FAST_ENCODER_NAME)
        .exists()
    )


def test_switching_to_the_float32_encoder_recomputes_vectors_and_routes(demo_router, settings):
    settings.SEMROUTE_ENCODER = LOCAL_ENCODER_NAME

    snapshot = router_snapshot_build(demo_router)
    router = compile_router(snapshot)
    decision = router.route("I want my money back for this order", encoder=active_encoder())

    assert snapshot.encoder_name == LOCAL_ENCODER_NAME
    assert (
        not Example.objects.filter(intent__router=demo_router)
        .needing_vectors(LOCAL_ENCODER_NAME)
        .exists()
    )
    assert decision.intent == "refund" and decision.stage == "embedding"
