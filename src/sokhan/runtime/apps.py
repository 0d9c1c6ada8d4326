from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    name = "sokhan.runtime"
    label = "runtime"
    verbose_name = "Worker runtime"

    def ready(self) -> None:
        # Registers the Job and Schedule machines with the engine.
        from sokhan.runtime import jobs, schedules  # noqa: F401
