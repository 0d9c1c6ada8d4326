from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "sokhan.publishing"
    label = "publishing"
    verbose_name = "Publishing"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.publishing.dispatcher import register_machine
        from sokhan.web.nav import NavEntry, register

        register_machine()
        register(NavEntry("posts", _("Posts"), "publishing:posts", Perm.POSTS_VIEW, 100))
        register(NavEntry("calendar", _("Calendar"), "publishing:calendar", Perm.POSTS_VIEW, 105))
