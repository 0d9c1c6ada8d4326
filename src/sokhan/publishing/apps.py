from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "sokhan.publishing"
    label = "publishing"
    verbose_name = "Publishing"

    def ready(self) -> None:
        from sokhan.publishing.dispatcher import register_machine

        register_machine()
