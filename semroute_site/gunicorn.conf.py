"""gunicorn settings for the API: `gunicorn -c semroute_site/gunicorn.conf.py semroute_site.wsgi`.

Threaded workers (the encoder releases the GIL; database and Redis calls overlap); each worker
loads its own encoder and snapshots (no preload). The decision log buffer of a worker is flushed
when it exits (worker_exit) and at interpreter exit (atexit), so a graceful stop loses nothing.
"""

import os
import shutil
import tempfile

# prometheus-client's multiprocess mode (analytics/metrics.py): every worker writes its samples
# under this folder and /metrics sums them. Set before any worker imports prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="semroute-metrics-")

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5
timeout = 60
graceful_timeout = 30
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


def worker_exit(server, worker):
    try:
        from analytics.decision_log import decision_log
    except Exception:  # the app never loaded in this worker: nothing was buffered
        return
    decision_log.stop()
    from routing.providers.calls import usage_flush

    usage_flush()
    server.log.info(
        "worker %s flushed its decision log (%d rows written)", worker.pid, decision_log.written
    )


def on_starting(server):
    # Samples of an earlier run would be summed into this one's.
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
