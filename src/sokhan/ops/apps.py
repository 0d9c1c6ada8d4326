from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "sokhan.ops"
    label = "ops"
    verbose_name = "Operations (CLI)"
