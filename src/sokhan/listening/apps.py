from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "sokhan.listening"
    label = "listening"
    verbose_name = "Listening"
    default_auto_field = "django.db.models.BigAutoField"
