from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "sokhan.web"
    label = "web"
