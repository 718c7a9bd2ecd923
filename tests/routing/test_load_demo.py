"""`make run` (load_demo) never replaces an existing router; --reset does, on purpose."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from routing.models import Intent, Router, RouterVersion
from routing.services.examples import example_add
from routing.services.versioning import config_object_delete, router_policy_update

pytestmark = pytest.mark.django_db


def _edited_demo(operator) -> Router:
    call_command("load_demo", stdout=io.StringIO())
    router = Router.objects.get(slug="support")
    config_object_delete(obj=router.intents.get(name="complaint"), user=operator)
    example_add(intent=router.intents.get(name="billing"), text="a 13th charge?", user=operator)
    router_policy_update(router=router, user=operator, changes={"threshold": 0.61})
    router.refresh_from_db()
    return router


def test_an_edited_router_survives_load_demo(operator):
    router = _edited_demo(operator)
    version = router.version

    out = io.StringIO()
    call_command("load_demo", stdout=out)

    router.refresh_from_db()
    assert router.version == version
    assert router.threshold == 0.61
    assert not router.intents.filter(name="complaint").exists()
    assert router.intents.get(name="billing").examples.filter(text="a 13th charge?").exists()
    assert "left as it is" in out.getvalue() and "--reset" in out.getvalue()


def test_reset_without_confirmation_changes_nothing(operator, monkeypatch):
    router = _edited_demo(operator)
    version = router.version
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError):
        call_command("load_demo", "--reset", stdout=io.StringIO())
    router.refresh_from_db()
    assert router.version == version and router.threshold == 0.61


def test_reset_with_no_terminal_never_resets(operator, monkeypatch):
    router = _edited_demo(operator)

    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    with pytest.raises(CommandError):
        call_command("load_demo", "--reset", stdout=io.StringIO())
    router.refresh_from_db()
    assert router.threshold == 0.61


def test_reset_yes_reloads_the_demo_as_a_new_version(operator):
    router = _edited_demo(operator)
    version = router.version
    call_command("load_demo", "--reset", "--yes", stdout=io.StringIO())
    router.refresh_from_db()
    assert router.version == version + 1
    assert router.threshold == 0.35
    assert Intent.objects.filter(router=router, name="complaint").exists()
    latest = RouterVersion.objects.get(router=router, number=router.version)
    assert latest.summary == "Reset to the demo configuration"
