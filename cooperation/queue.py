"""Handing work to the Celery worker by task name, for modules below `tasks`.

`tasks.py` is a thin layer on top (it imports notifications, jobs and downloads); the modules
it wraps must not import it back. They queue work here, by name, through the configured app,
which honours `CELERY_TASK_ALWAYS_EAGER` like calling `.delay()` on the task itself.
"""

from __future__ import annotations

from celery import current_app


def enqueue(name: str, *args, **options):
    """Queue `cooperation.tasks.<name>(*args)`; returns the AsyncResult. Options go to `apply_async`."""
    tasks = current_app.tasks
    if f"cooperation.tasks.{name}" not in tasks:
        # A web process has not imported the tasks modules yet: Celery's autodiscovery does it (the
        # worker does so at start), so that the lookup by name works without importing `tasks` here.
        current_app.loader.import_default_modules()
    return tasks[f"cooperation.tasks.{name}"].apply_async(args=args, **options)
