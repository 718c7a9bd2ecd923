"""Every kind of configuration change makes exactly one new version, through the services."""

import pytest
from django.core.exceptions import ValidationError

from routing.models import Intent, ModelTier, RouterVersion, Rule
from routing.services.config_apply import router_rollback
from routing.services.examples import example_add, examples_add_bulk
from routing.services.versioning import (
    config_object_delete,
    config_object_save,
    router_create,
    router_policy_update,
)

pytestmark = pytest.mark.django_db


def _latest(router):
    router.refresh_from_db()
    return RouterVersion.objects.get(router=router, number=router.version)


def test_new_router_starts_at_version_one_with_a_record(operator):
    router = router_create(slug="faq", name="FAQ", user=operator)
    assert router.version == 1
    version = _latest(router)
    assert version.summary == "Created router"
    assert version.created_by == operator
    assert version.config["slug"] == "faq"


def test_each_kind_of_change_bumps_the_version_once(demo_router, operator):
    start = demo_router.version
    refund = Intent.objects.get(router=demo_router, name="refund")

    example_add(intent=refund, text="I want my money back for order 5531", user=operator)
    assert _latest(demo_router).number == start + 1
    assert "Added example to refund" in _latest(demo_router).summary

    refund.threshold = 0.6
    config_object_save(obj=refund, user=operator)
    assert _latest(demo_router).number == start + 2

    rule = Rule(
        router=demo_router,
        kind="keyword",
        pattern="money back",
        action="route",
        intent=refund,
        priority=5,
    )
    config_object_save(obj=rule, user=operator)
    assert _latest(demo_router).number == start + 3

    tier = ModelTier.objects.get(router=demo_router, name="gpt-4o")
    tier.quality = 0.9
    config_object_save(obj=tier, user=operator)
    assert _latest(demo_router).number == start + 4

    router_policy_update(router=demo_router, user=operator, changes={"threshold": 0.42})
    assert _latest(demo_router).number == start + 5
    assert "threshold: 0.35 -> 0.42" in _latest(demo_router).summary

    config_object_delete(obj=rule, user=operator)
    assert _latest(demo_router).number == start + 6
    assert _latest(demo_router).created_by == operator


def test_policy_update_without_change_makes_no_version(demo_router, operator):
    start = demo_router.version
    router_policy_update(
        router=demo_router, user=operator, changes={"threshold": demo_router.threshold}
    )
    demo_router.refresh_from_db()
    assert demo_router.version == start


def test_version_record_holds_the_configuration_at_that_version(demo_router, operator):
    billing = Intent.objects.get(router=demo_router, name="billing")
    example_add(intent=billing, text="what is the VAT line on my invoice", user=operator)
    intents = {i["name"]: i for i in _latest(demo_router).config["intents"]}
    assert "what is the VAT line on my invoice" in intents["billing"]["examples"]


def test_rollback_restores_old_contents_as_a_new_version(demo_router, operator):
    before = demo_router.version
    billing = Intent.objects.get(router=demo_router, name="billing")
    example_add(intent=billing, text="explain the proration on my bill", user=operator)
    router_policy_update(router=demo_router, user=operator, changes={"method": "centroid"})

    result = router_rollback(router=demo_router, number=before, user=operator)

    assert result.applied
    demo_router.refresh_from_db()
    assert demo_router.version == before + 3
    assert demo_router.method == "linear"
    assert not billing.examples.filter(text="explain the proration on my bill").exists()
    assert _latest(demo_router).summary == f"Rolled back to version {before}"


def test_invalid_regex_rule_is_rejected_with_the_error(demo_router, operator):
    start = demo_router.version
    rule = Rule(router=demo_router, kind="regex", pattern="(unclosed", action="block", reason="x")
    with pytest.raises(ValidationError) as excinfo:
        config_object_save(obj=rule, user=operator)
    assert "Invalid regular expression" in excinfo.value.message_dict["pattern"][0]
    demo_router.refresh_from_db()
    assert demo_router.version == start


def test_negative_price_and_quality_out_of_range_are_rejected(demo_router):
    tier = ModelTier(
        router=demo_router,
        name="bad",
        rank=9,
        provider="openai",
        model="m",
        price_in_per_mtok=-1,
        price_out_per_mtok=1,
        quality=1.5,
    )
    with pytest.raises(ValidationError) as excinfo:
        config_object_save(obj=tier)
    assert set(excinfo.value.message_dict) >= {"price_in_per_mtok", "quality"}


def test_rule_actions_need_their_target(demo_router):
    with pytest.raises(ValidationError) as excinfo:
        config_object_save(
            obj=Rule(router=demo_router, kind="keyword", pattern="x", action="route")
        )
    assert "needs the intent" in excinfo.value.message_dict["intent"][0]


def test_bulk_add_reports_blank_lines_duplicates_and_overlong(demo_router, operator):
    shipping = Intent.objects.get(router=demo_router, name="shipping")
    existing = shipping.examples.first().text
    start = demo_router.version
    result = examples_add_bulk(
        intent=shipping,
        texts=["where is parcel 88", "", "   ", existing, "where is parcel 88", "x" * 3000],
        user=operator,
    )
    assert result.added == ["where is parcel 88"]
    assert result.blank_lines == 2
    assert result.duplicates == [existing, "where is parcel 88"]
    assert len(result.rejected) == 1
    demo_router.refresh_from_db()
    assert demo_router.version == start + 1


def test_duplicate_single_example_is_a_validation_error(demo_router):
    shipping = Intent.objects.get(router=demo_router, name="shipping")
    with pytest.raises(ValidationError, match="already an example"):
        example_add(intent=shipping, text=shipping.examples.first().text)


def test_intent_names_are_unique_ignoring_case_in_the_console_service(demo_router):
    with pytest.raises(ValidationError, match="already exists"):
        config_object_save(obj=Intent(router=demo_router, name="BILLING", handler="h"))
    config_object_save(obj=Intent(router=demo_router, name="Billing_Disputes?", handler="h"))
    assert demo_router.intents.filter(name="Billing_Disputes?").exists()
