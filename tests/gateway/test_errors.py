"""Bad gateway requests: 4xx bodies the OpenAI SDK parses into its own exception classes, with
the project's `details` kept; and the model list."""

import openai
import pytest

from tests.gateway.conftest import SIMPLE


def _create(client, **request):
    return client.chat.completions.create(
        **{"model": "support", "messages": [{"role": "user", "content": SIMPLE}], **request}
    )


@pytest.mark.parametrize(
    ("request_fields", "error_class", "code"),
    [
        ({"messages": []}, openai.BadRequestError, "no_user_turn"),
        (
            {"messages": [{"role": "system", "content": "be nice"}]},
            openai.BadRequestError,
            "no_user_turn",
        ),
        ({"model": "nope"}, openai.NotFoundError, "not_found"),
        ({"n": 2}, openai.BadRequestError, "unsupported_parameter"),
        ({"temperature": 5}, openai.UnprocessableEntityError, "validation_error"),
    ],
)
def test_bad_requests_raise_the_sdks_own_errors(client, request_fields, error_class, code):
    with pytest.raises(error_class) as raised:
        _create(client, **request_fields)

    error = raised.value
    assert (error.code, error.type) == (code, error.body["type"])
    assert error.body["type"].endswith("_error")
    assert error.body["message"] and "details" in error.body


def test_an_unstorable_user_turn_is_refused(client):
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        _create(client, messages=[{"role": "user", "content": "nul \u0000 inside"}])

    assert raised.value.code == "invalid"
    assert "must not contain NUL" in raised.value.body["message"]


def test_semroute_prefixed_model_names_the_router(client, openai_server):
    assert _create(client, model="semroute/support").choices[0].message.content


def test_too_long_a_user_turn_is_413_with_the_limit(client, settings):
    settings.SEMROUTE_MAX_QUERY_CHARS = 50

    with pytest.raises(openai.APIStatusError) as raised:
        _create(client, messages=[{"role": "user", "content": "x" * 60}])

    assert raised.value.status_code == 413
    assert raised.value.body["details"] == {"field": "messages", "length": 60, "max_chars": 50}


def test_keys_without_the_scope_or_the_router_are_refused(sdk, gateway_key, gateway_router, db):
    from routing.models import Router

    other = Router.objects.create(slug="other", name="Other")

    with pytest.raises(openai.PermissionDeniedError) as no_scope:
        _create(sdk(gateway_key(scopes=["route"])))
    with pytest.raises(openai.PermissionDeniedError) as wrong_router:
        _create(sdk(gateway_key(routers=[other])))
    with pytest.raises(openai.AuthenticationError) as unknown:
        _create(sdk("sk-not-a-key"))

    assert no_scope.value.body["details"]["required_scope"] == "gateway"
    assert wrong_router.value.body["details"] == {"router": "support"}
    assert (unknown.value.code, unknown.value.type) == ("not_authenticated", "authentication_error")


def test_models_lists_the_routers_the_key_may_use(sdk, gateway_key, gateway_router, db):
    from routing.models import Router

    Router.objects.create(slug="other", name="Other")

    every = sdk().models.list()
    limited = sdk(gateway_key(routers=[gateway_router])).models.list()

    assert [model.id for model in every.data] == ["other", "support"]
    assert [model.id for model in limited.data] == ["support"]
    assert limited.data[0].owned_by == "semroute"
