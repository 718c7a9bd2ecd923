"""gunicorn settings for the API: `gunicorn -c semroute_site/gunicorn.conf.py semroute_site.wsgi`.

Threaded workers (the encoder releases the GIL; database and Redis calls overlap); each worker
loads its own encoder and snapshots (no preload). The decision log buffer of a worker is flushed
when it exits (worker_exit) and at interpreter exit (atexit), so a graceful stop loses nothing.
"""

import os

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
    server.log.info(
        "worker %s flushed its decision log (%d rows written)", worker.pid, decision_log.written
    )
