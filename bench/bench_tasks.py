"""A trivial task for the worker benchmark (importable by worker subprocesses via PYTHONPATH)."""

from django.tasks import task


@task
def noop(n: int) -> int:
    return n
