from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "sokhan.approvals"
    label = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("approvals", _("Approvals"), "approvals:overview", Perm.POSTS_VIEW, 110))
