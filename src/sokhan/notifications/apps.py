from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "sokhan.notifications"
    label = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("notifications", _("Notifications"), "notifications:list", Perm.WORKSPACE_VIEW, 5))
