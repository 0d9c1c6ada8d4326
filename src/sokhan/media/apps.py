from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "sokhan.media"
    label = "media"
    verbose_name = "Media library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("media", _("Media library"), "media:library", Perm.POSTS_VIEW, 120))
