from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "sokhan.inbox"
    label = "inbox"
    verbose_name = "Inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("inbox", _("Inbox"), "inbox:inbox", Perm.INBOX_VIEW, 60))
