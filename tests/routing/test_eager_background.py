"""Tasks no request waits for (the LLM judge's): a background thread runs them in eager mode."""

import threading

from semroute_site.celery import app, task_send_unawaited

RAN_ON: list[str] = []
RELEASE = threading.Event()
DONE = threading.Event()


@app.task
def _unawaited(label: str) -> None:
    RELEASE.wait(10)
    RAN_ON.append(f"{label} on {threading.current_thread().name}")
    DONE.set()


def _reset():
    RAN_ON.clear()
    RELEASE.clear()
    DONE.clear()


def test_in_eager_mode_the_caller_does_not_wait_for_the_task(settings):
    settings.SEMROUTE_EAGER_TASKS_INLINE = False
    _reset()

    task_send_unawaited(_unawaited, "judge")  # returns while the task is still waiting

    assert RAN_ON == []
    RELEASE.set()
    assert DONE.wait(10)
    assert RAN_ON == ["judge on semroute-eager"]


def test_inline_for_tests_runs_the_task_before_returning(settings):
    settings.SEMROUTE_EAGER_TASKS_INLINE = True
    _reset()
    RELEASE.set()

    task_send_unawaited(_unawaited, "inline")

    assert RAN_ON == [f"inline on {threading.current_thread().name}"]
