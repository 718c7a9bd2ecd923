"""An example text belongs to one intent of a router; example_move moves it as one version."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from routing.models import Example, Intent, RouterVersion
from routing.services.examples import (
    ExampleOwnedElsewhere,
    example_add,
    example_move,
    examples_add_bulk,
)

pytestmark = pytest.mark.django_db


def _intents(router):
    return Intent.objects.get(router=router, name="billing"), Intent.objects.get(
        router=router, name="refund"
    )


def test_example_add_refuses_a_text_another_intent_has_naming_it(demo_router):
    billing, refund = _intents(demo_router)
    taken = billing.examples.order_by("id").first()
    version = demo_router.version

    with pytest.raises(ExampleOwnedElsewhere) as excinfo:
        example_add(intent=refund, text=f"  {taken.text} ")

    error = excinfo.value
    assert isinstance(error, ValidationError)
    assert (error.intent_name, error.example_id) == ("billing", taken.pk)
    assert "already an example of intent billing" in error.messages[0]
    assert error.error_dict["text"][0].code == "owned_elsewhere"
    demo_router.refresh_from_db()
    assert demo_router.version == version
    assert not refund.examples.filter(text=taken.text).exists()


def test_bulk_add_rejects_texts_another_intent_has(demo_router, operator):
    billing, refund = _intents(demo_router)
    taken = billing.examples.order_by("id").first().text
    result = examples_add_bulk(
        intent=refund, texts=[taken, "a brand new refund line"], user=operator
    )
    assert result.added == ["a brand new refund line"]
    assert result.rejected == [(taken[:80], "already an example of intent billing.")]


def test_example_move_moves_it_with_its_vector_as_one_version(demo_router, operator):
    billing, refund = _intents(demo_router)
    example = billing.examples.order_by("id").first()
    vector, version = bytes(example.vector), demo_router.version

    moved = example_move(example=example, intent=refund, user=operator)

    moved.refresh_from_db()
    assert moved.pk == example.pk and moved.intent_id == refund.pk
    assert bytes(moved.vector) == vector
    demo_router.refresh_from_db()
    assert demo_router.version == version + 1
    latest = RouterVersion.objects.get(router=demo_router, number=demo_router.version)
    assert latest.summary.startswith("Moved example") and latest.created_by == operator
    # After the move, adding it to refund is a plain duplicate and billing may not take it back.
    with pytest.raises(ExampleOwnedElsewhere) as excinfo:
        example_add(intent=billing, text=example.text)
    assert excinfo.value.intent_name == "refund"


def test_example_move_to_an_intent_that_already_has_the_text_removes_the_copy(demo_router):
    billing, refund = _intents(demo_router)
    example = billing.examples.order_by("id").first()
    # An older database may hold the same text in two intents: moving folds them into one.
    twin = Example.objects.create(intent=refund, text=example.text)
    kept = example_move(example=example, intent=refund)
    assert kept.pk == twin.pk
    assert not Example.objects.filter(pk=example.pk).exists()


def test_example_move_stays_inside_its_router(demo_router, demo_document):
    from routing.services.config_apply import router_config_apply

    other = router_config_apply(document={**demo_document, "slug": "other"}).router
    example = _intents(demo_router)[0].examples.first()
    with pytest.raises(ValidationError):
        example_move(example=example, intent=other.intents.get(name="refund"))
