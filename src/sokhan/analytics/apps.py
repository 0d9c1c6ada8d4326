from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "sokhan.analytics"
    label = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.analytics.besttime import suggest_slots
        from sokhan.core.permissions import Perm
        from sokhan.publishing.queue import register_slot_suggester
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("analytics", _("Analytics"), "analytics:overview", Perm.ANALYTICS_VIEW, 80))
        register_slot_suggester(suggest_slots)  # best time to post feeds the queue's suggestions
