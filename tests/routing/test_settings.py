import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from semroute_site.env import database_from_url, env_bool, env_int

ROOT = Path(__file__).resolve().parents[2]


def test_no_database_url_means_sqlite_file_in_the_project():
    config = database_from_url("", base_dir=ROOT)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == ROOT / "db.sqlite3"


def test_postgres_url_uses_psycopg_backend_with_parts():
    config = database_from_url(
        "postgres://alice:s%40cret@db.internal:6543/semroute?sslmode=require", base_dir=ROOT
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "alice",
        "s@cret",
        "db.internal",
        "6543",
        "semroute",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://root@localhost/x", "not supported"), ("postgres://localhost/", "names no database")],
)
def test_bad_database_url_is_a_configuration_error(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url, base_dir=ROOT)


def test_typed_env_readers_reject_bad_values(monkeypatch):
    monkeypatch.setenv("SEMROUTE_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SEMROUTE_X='maybe' is not a boolean"):
        env_bool("SEMROUTE_X", False)
    monkeypatch.setenv("SEMROUTE_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("SEMROUTE_N", 1)
    monkeypatch.setenv("SEMROUTE_N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("SEMROUTE_N", 1, minimum=1)


STRONG_KEY = "kV3q-9xZ_w2pR7mT4sL8nB1cY6hJ0dF5gA-uE_iO3rW9tQ2zX7vN4b"


def _start(*command: str, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' conftest; check --deploy flags it.
        if k
        not in (
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "SEMROUTE_ENCODER",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    return subprocess.run(
        [sys.executable, "manage.py", *(command or ("check",))],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_refuses_to_start_without_a_real_secret_key():
    result = _start(DEBUG="0", ALLOWED_HOSTS="semroute.example.com")
    assert result.returncode != 0
    assert "DEBUG=0 needs a real SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "weak_key",
    [
        "a" * 40,  # too short
        "a" * 64,  # long but one character: Django's W009 flags it
        "abab" * 16,  # fewer than 5 distinct characters
        "django-insecure-" + STRONG_KEY,
    ],
)
def test_production_mode_refuses_weak_secret_keys(weak_key):
    result = _start(DEBUG="0", SECRET_KEY=weak_key, ALLOWED_HOSTS="semroute.example.com")
    assert result.returncode != 0
    assert "DEBUG=0 needs a real SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check_cleanly():
    result = _start(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="semroute.example.com",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_proxy_header_setting_must_name_a_request_header():
    result = _start(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0
    assert "must name a request header" in result.stderr


def test_production_mode_needs_allowed_hosts():
    result = _start(DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="")
    assert result.returncode != 0
    assert "DEBUG=0 needs ALLOWED_HOSTS" in result.stderr


def test_unknown_encoder_is_refused_at_start():
    result = _start(SEMROUTE_ENCODER="word2vec")
    assert result.returncode != 0
    assert "SEMROUTE_ENCODER='word2vec' is unknown" in result.stderr


def test_int8_encoder_is_accepted_and_the_message_lists_it():
    assert _start(SEMROUTE_ENCODER="minilm-l6-v2-int8-fast").returncode == 0
    assert (
        "'minilm-l6-v2-int8-fast' (local, int8 arithmetic"
        in _start(SEMROUTE_ENCODER="word2vec").stderr
    )


def test_numpy_runs_one_blas_thread_per_process():
    import numpy  # noqa: F401  (loads its BLAS)
    import threadpoolctl  # scikit-learn's dependency

    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_the_embedded_default_loads_the_demo_without_broker_warnings(tmp_path):
    # make run's first load enqueues the vector task eagerly; kombu warned on every such task.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_BROKER_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"
    for command in (["migrate", "-v0"], ["load_demo"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    assert "Loaded demo router 'support'" in result.stdout
    assert "No hostname was supplied" not in result.stderr
