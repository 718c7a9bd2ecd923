import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

app = Celery("semroute")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
