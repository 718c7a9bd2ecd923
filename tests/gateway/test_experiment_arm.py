"""The gateway assigns experiment arms as the route API does: the same sticky arm per user, the
control arm answered by the most expensive tier, the arm in `x-semroute-arm`, the `semroute`
body object and the decision log."""

from analytics.experiments.plans import experiment_for
from analytics.experiments.services import experiment_create
from tests.gateway.conftest import MINI, SIMPLE, SONNET, logged
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply


def _user_in(plan, arm: str) -> str:
    return next(
        user
        for user in (f"user-{n}" for n in range(1000))
        if plan.arm_for(user_id=user, session_id=None)[0].name == arm
    )


def _ask(client, user: str):
    return client.chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": SIMPLE}], user=user
    )


def test_the_gateway_answers_in_the_callers_arm(
    client, gateway_router, openai_server, anthropic_server
):
    experiment = experiment_create(
        router=gateway_router,
        name="cheap vs control",
        arms=[{"name": "current", "weight": 1}],
        control_percent=50,
    )
    plan = experiment_for(gateway_router)
    in_control, in_current = _user_in(plan, "control"), _user_in(plan, "current")

    anthropic_server.replies_for(SONNET).append(MessageReply("the strong answer"))
    control = _ask(client, in_control)
    openai_server.replies_for(MINI).append(ChatReply("the cheap answer"))
    current = _ask(client, in_current)

    assert (control.headers["x-semroute-arm"], control.headers["x-semroute-tier"]) == (
        "control",
        "claude-sonnet-4",
    )
    assert control.parse().choices[0].message.content == "the strong answer"
    assert (current.headers["x-semroute-arm"], current.headers["x-semroute-tier"]) == (
        "current",
        "gpt-4o-mini",
    )
    facts = current.parse().model_extra["semroute"]
    assert facts["experiment"] == {
        "id": experiment.pk,
        "name": "cheap vs control",
        "arm": "current",
        "assigned_by": "user_id",
    }
    row = logged(control.headers["x-semroute-decision-id"])
    assert (row.experiment_id, row.experiment_arm, row.answer_tier) == (
        experiment.pk,
        "control",
        "claude-sonnet-4",
    )


def test_without_an_experiment_the_arm_header_is_empty(client, openai_server):
    openai_server.replies_for(MINI).append(ChatReply("ok"))
    raw = _ask(client, "someone")
    assert raw.headers["x-semroute-arm"] == ""
    assert raw.parse().model_extra["semroute"]["experiment"] is None
    assert logged(raw.headers["x-semroute-decision-id"]).experiment_id is None
