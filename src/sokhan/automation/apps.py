from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "sokhan.automation"
    label = "automation"
    verbose_name = "Bulk import, feeds and recurring posts"
    default_auto_field = "django.db.models.BigAutoField"
