from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "sokhan.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("channels", _("Channels"), "channels:list", Perm.CHANNELS_VIEW, 50))
