import logging
import os
import queue
import threading

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

logger = logging.getLogger("semroute.tasks")

app = Celery("semroute")
app.config_from_object("django.conf:settings", namespace="CELERY")
if app.conf.task_always_eager:
    # Eager tasks still build a producer; kombu 5.7's memory transport warns "No hostname was
    # supplied" on every one unless the URL names a host (settings keep the broker URL empty).
    app.conf.broker_url = "memory://localhost//"
app.autodiscover_tasks()


# Eager mode's unawaited tasks wait here for the background thread; beyond this many, new ones are
# dropped with a warning (their rows stay queued) rather than grow without bound.
UNAWAITED_QUEUE_SIZE = 1000
_unawaited: queue.Queue = queue.Queue(maxsize=UNAWAITED_QUEUE_SIZE)
_unawaited_thread: threading.Thread | None = None
_unawaited_lock = threading.Lock()


def task_send_unawaited(task, *args) -> None:
    """Queue `task(*args)` when nothing waits for its result (the judge after an answer).

    With a broker it goes to a worker. In eager mode (the embedded default) it runs on this
    process's one background thread (a daemon: it never holds up shutdown), so the request that
    queued it does not wait for it; inline when SEMROUTE_EAGER_TASKS_INLINE is set (tests).
    """
    from django.conf import settings

    if not app.conf.task_always_eager or settings.SEMROUTE_EAGER_TASKS_INLINE:
        task.delay(*args)
        return
    global _unawaited_thread
    with _unawaited_lock:
        if _unawaited_thread is None:
            _unawaited_thread = threading.Thread(
                target=_unawaited_run, name="semroute-eager", daemon=True
            )
            _unawaited_thread.start()
    try:
        _unawaited.put_nowait((task, args))
    except queue.Full:
        logger.warning(
            "eager task %s dropped: %d tasks already wait", task.name, UNAWAITED_QUEUE_SIZE
        )


def _unawaited_run() -> None:
    from django.db import connections

    while True:
        task, args = _unawaited.get()
        try:
            task.apply(args)
        except Exception:  # logged; the thread goes on with the next task
            logger.exception("eager task %s failed", task.name)
        finally:
            connections.close_all()  # this thread's connections only
