"""The Celery application.

Without ``REDIS_URL`` tasks run eagerly, in-process (see ``CELERY_TASK_ALWAYS_EAGER`` in
settings), so the portal works on a bare machine; with it, a worker and beat take them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
