import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

app = Celery("semroute")
app.config_from_object("django.conf:settings", namespace="CELERY")
if app.conf.task_always_eager:
    # Eager tasks still build a producer; kombu 5.7's memory transport warns "No hostname was
    # supplied" on every one unless the URL names a host (settings keep the broker URL empty).
    app.conf.broker_url = "memory://localhost//"
app.autodiscover_tasks()
