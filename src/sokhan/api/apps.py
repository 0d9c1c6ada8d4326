from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sokhan.api"
    label = "api"
