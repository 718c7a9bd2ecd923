"""An earlier version is rebuilt from its stored document: texts deleted since then are encoded
again, and its decisions are the ones that version made."""

from __future__ import annotations

import numpy as np

from analytics.evaluations.versions import version_router, version_snapshot_build
from routing.models import Example, Intent
from routing.services.versioning import config_object_delete
from routing.snapshots import compiled_router


def test_earlier_version_snapshot_matches_what_that_version_compiled(demo_router, committed):
    before = compiled_router(demo_router).snapshot
    number = demo_router.version
    intent = Intent.objects.get(router=demo_router, name="billing")
    with committed():
        config_object_delete(obj=intent)
    demo_router.refresh_from_db()
    assert not Example.objects.filter(intent__name="billing").exists()
    rebuilt = version_snapshot_build(demo_router, number)
    assert rebuilt.version == number and rebuilt.fingerprint != before.fingerprint
    assert sorted(rebuilt.example_texts) == sorted(before.example_texts)
    assert "billing" in {spec.name for spec in rebuilt.intents}
    order = {text: i for i, text in enumerate(before.example_texts)}
    vectors = before.example_vectors[[order[text] for text in rebuilt.example_texts]]
    # Deleted billing texts were encoded again by the active encoder: the same vectors.
    assert np.allclose(rebuilt.example_vectors, vectors, atol=1e-5)
    assert rebuilt.policy == before.policy
    assert [rule.pattern for rule in rebuilt.rules] == [rule.pattern for rule in before.rules]


def test_the_current_version_is_the_live_compiled_router(demo_router):
    assert version_router(demo_router, demo_router.version) is compiled_router(demo_router)


def test_earlier_version_routes_to_an_intent_deleted_since(demo_router, committed):
    number = demo_router.version
    with committed():
        config_object_delete(obj=Intent.objects.get(router=demo_router, name="billing"))
    demo_router.refresh_from_db()
    from routing.vectors import active_encoder

    query = ["why was I charged twice this month"]
    old = version_router(demo_router, number).route_batch(query, encoder=active_encoder())
    new = compiled_router(demo_router).route_batch(query, encoder=active_encoder())
    assert old[0].intent == "billing" and new[0].intent != "billing"
