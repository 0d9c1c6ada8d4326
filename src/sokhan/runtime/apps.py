from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    name = "sokhan.runtime"
    label = "runtime"
    verbose_name = "Worker runtime"
