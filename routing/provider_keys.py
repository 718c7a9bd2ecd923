"""Which environment variables may hold a model tier's provider key.

A tier names the variable holding its key (`api_key_env`) and semroute sends that variable's value
to the tier's base URL, so a tier must never name one of the server's own secrets. Allowed: names
ending in `_API_KEY` or starting with `SEMROUTE_KEY_`, plus the deployment's explicit
`SEMROUTE_PROVIDER_KEY_VARS`; never a variable the settings read (SECRET_KEY, DATABASE_URL, ...).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

from django.conf import settings

ALLOWED_SUFFIX = "_API_KEY"
ALLOWED_PREFIX = "SEMROUTE_KEY_"
# Server secrets read outside settings.py too (management commands, the WSGI/ASGI entry points).
SERVER_VARIABLES = frozenset(
    {
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "SEMROUTE_ADMIN_PASSWORD",
        "DJANGO_SETTINGS_MODULE",
        "SEMROUTE_PROVIDER_KEY_VARS",
    }
)
# env_str("NAME"...), env_int(...), os.environ.get("NAME"), os.getenv("NAME"), os.environ["NAME"]
_READ_IN_SOURCE = re.compile(
    r"""(?:env_\w+\(|environ\.get\(|getenv\(|environ\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"""
)


@functools.cache
def settings_variables() -> frozenset[str]:
    """Every environment variable the settings module reads, and every Django setting's name."""
    names = set(SERVER_VARIABLES)
    module = sys.modules.get(os.environ.get("DJANGO_SETTINGS_MODULE", ""))
    source_file = getattr(module, "__file__", None)
    if source_file:
        names.update(_READ_IN_SOURCE.findall(Path(source_file).read_text()))
    names.update(name for name in dir(settings) if name.isupper())
    return frozenset(names)


def key_variable_allowed(name: str) -> bool:
    """May a tier's provider key be read from the environment variable `name`?"""
    if not name or name in settings_variables():
        return False
    explicit = set(getattr(settings, "SEMROUTE_PROVIDER_KEY_VARS", ()))
    return name.endswith(ALLOWED_SUFFIX) or name.startswith(ALLOWED_PREFIX) or name in explicit


def key_variable_refusal(name: str) -> str:
    """Why `name` is refused as a provider key variable, in words an operator can act on."""
    return (
        f"{name} may not hold a provider key: use a variable whose name ends in "
        f"{ALLOWED_SUFFIX} or starts with {ALLOWED_PREFIX}, or list it in "
        "SEMROUTE_PROVIDER_KEY_VARS (the server's own settings variables are never allowed)."
    )


def provider_key(name: str) -> str | None:
    """The provider key held by `name`, read only when the variable is allowed (else None)."""
    if not key_variable_allowed(name):
        return None
    return os.environ.get(name) or None
