"""Structured logs: every log line is one JSON object on standard error.

django-structlog writes one ``request_finished`` line per request (its ``request_id``,
``user_id``, ``code``, method and path) and one ``task_succeeded``/``task_failed`` line per
Celery task, carrying the ``request_id`` of the request that queued it. Lines of the
standard ``logging`` loggers (the security log ``portal.security``, Django, Celery) keep
their message as ``event`` and gain the same context.

Personal data stays out: no IP address, no user agent, no query string (a customer search
puts a name there); the user is their numeric id.
"""

from typing import Any

import structlog

# Keys django-structlog may add that can identify a person.
_PERSONAL_KEYS = ("ip", "user_agent")


def _drop_personal_data(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in _PERSONAL_KEYS:
        event.pop(key, None)
    request = event.get("request")
    if isinstance(request, str) and "?" in request:
        event["request"] = request.split("?", 1)[0]
    return event


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _drop_personal_data,
]


def logging_config(level: str, *, tasks_in_process: bool = False) -> dict[str, Any]:
    """Configure structlog for stdlib ``logging`` and return the ``LOGGING`` setting: every
    record at ``level`` or above (the security log at INFO) as one JSON line.

    ``tasks_in_process``: Celery runs tasks eagerly (the local demo, no ``REDIS_URL``);
    Celery's ``celery.app.trace`` logger is then kept at WARNING, so seeding the demo does
    not print one "Task ... succeeded" line per notification batch (a failed task still
    logs). With a worker those lines are the task's record and stay at ``level``."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
                "foreign_pre_chain": _SHARED_PROCESSORS,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own console handler (plain text under DEBUG) replaced by the JSON one.
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "WARNING"},
            # The security log: lockouts, failed two-factor codes, refusals (403) of objects
            # that exist, broken audit chains. Never passwords or tokens.
            "portal.security": {"level": "INFO"},
            # One line per request (request_finished); request_started is DEBUG.
            "django_structlog": {"level": "INFO"},
            **({"celery.app.trace": {"level": "WARNING"}} if tasks_in_process else {}),
        },
    }
