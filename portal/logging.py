"""One log format for web, worker and beat: ISO 8601 timestamps in UTC, level, logger, message.

Django's LOGGING (portal/settings.py), gunicorn (portal/gunicorn.conf.py) and Celery (which keeps
its hands off the root logger, `CELERY_WORKER_HIJACK_ROOT_LOGGER = False`, so the worker and beat
log through Django's configuration) all use `logging_config()`, so an operator reads one clock.
"""

from __future__ import annotations

import logging
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


class UTCFormatter(logging.Formatter):
    """`2026-12-01T09:30:00.123Z`: ISO 8601 in UTC, whatever the machine's or Django's time zone."""

    converter = time.gmtime

    def formatTime(self, record, datefmt=None):  # noqa: N802 (the logging API's name)
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"


def logging_config(level: str = "INFO", *, gunicorn: bool = False) -> dict:
    """A dictConfig for standard error; with `gunicorn`, its error and access loggers too."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"utc": {"()": UTCFormatter, "format": FORMAT}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "utc"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {},
    }
    if gunicorn:
        for name in ("gunicorn.error", "gunicorn.access"):
            config["loggers"][name] = {"handlers": ["console"], "level": "INFO", "propagate": False}
    return config
