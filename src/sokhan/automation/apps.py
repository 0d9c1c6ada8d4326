from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "sokhan.automation"
    label = "automation"
    verbose_name = "Bulk import, feeds and recurring posts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("import", _("Import"), "automation:import", Perm.POSTS_DRAFT, 130))
        register(NavEntry("feeds", _("Feeds"), "automation:feeds", Perm.POSTS_DRAFT, 131))
        register(NavEntry("recurring", _("Recurring"), "automation:recurring", Perm.POSTS_DRAFT, 132))
