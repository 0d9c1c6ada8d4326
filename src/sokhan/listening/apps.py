from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListeningConfig(AppConfig):
    name = "sokhan.listening"
    label = "listening"
    verbose_name = "Listening"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sokhan.core.permissions import Perm
        from sokhan.web.activity import ACTION_LABELS
        from sokhan.web.nav import NavEntry, register

        register(NavEntry("listening", _("Listening"), "listening:insight", Perm.LISTENING_VIEW, 70))
        # The audit log shows a label per action; these are the listening pages' actions.
        for action, label in {
            "listening.topic.create": _("Created a listening topic"),
            "listening.topic.update": _("Changed a listening topic"),
            "listening.topic.enable": _("Turned on a listening topic"),
            "listening.topic.disable": _("Turned off a listening topic"),
            "listening.topic.delete": _("Deleted a listening topic"),
            "listening.source.create": _("Added a listening source"),
            "listening.source.enable": _("Turned on a listening source"),
            "listening.source.disable": _("Turned off a listening source"),
            "listening.source.delete": _("Removed a listening source"),
            "listening.source.import": _("Imported mentions from a file"),
            "listening.mention.correct": _("Corrected a mention's sentiment"),
        }.items():
            ACTION_LABELS.setdefault(action, label)

        from sokhan.listening.crisis_ready import ready as crisis_ready

        crisis_ready()  # alerts and crisis mode: their schedule, navigation and audit labels
