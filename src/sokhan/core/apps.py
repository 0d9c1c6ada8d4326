from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sokhan.core"
    label = "core"
    verbose_name = "Sokhan core"
