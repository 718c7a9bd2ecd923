import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

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


_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()


def task_send_unawaited(task, *args) -> None:
    """Queue `task(*args)` when nothing waits for its result (the judge after an answer).

    With a broker it goes to a worker. In eager mode (the embedded default) it runs on this
    process's one background thread, so the request that queued it does not wait for it;
    inline when SEMROUTE_EAGER_TASKS_INLINE is set (tests).
    """
    from django.conf import settings

    if not app.conf.task_always_eager or settings.SEMROUTE_EAGER_TASKS_INLINE:
        task.delay(*args)
        return
    global _background
    with _background_lock:
        if _background is None:
            _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="semroute-eager")
    _background.submit(_run_eager, task, args)


def _run_eager(task, args) -> None:
    from django.db import connections

    try:
        task.apply(args)
    except Exception:  # logged; the thread goes on with the next task
        logger.exception("eager task %s failed", task.name)
    finally:
        connections.close_all()  # this thread's connections only
