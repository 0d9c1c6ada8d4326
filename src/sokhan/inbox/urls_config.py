"""URL patterns of the inbox configuration pages (settings, rules, saved replies, report).

No ``app_name`` here: ``sokhan.inbox.urls`` includes ``urlpatterns`` into its own ``inbox``
namespace, so the names are reversed as ``inbox:config_*``.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from sokhan.inbox import views_config as views

urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/inbox/settings/", views.settings_view, name="config_settings"),
    path("w/<slug:ws>/inbox/settings/teams/", views.team_create_view, name="config_team_create"),
    path("w/<slug:ws>/inbox/settings/teams/<int:team_id>/", views.team_update_view, name="config_team_update"),
    path("w/<slug:ws>/inbox/settings/teams/<int:team_id>/delete/", views.team_delete_view, name="config_team_delete"),
    path("w/<slug:ws>/inbox/rules/", views.rules_view, name="config_rules"),
    path("w/<slug:ws>/inbox/rules/new/", views.rule_edit_view, name="config_rule_new"),
    path("w/<slug:ws>/inbox/rules/<int:rule_id>/", views.rule_edit_view, name="config_rule_edit"),
    path("w/<slug:ws>/inbox/rules/<int:rule_id>/move/", views.rule_move_view, name="config_rule_move"),
    path("w/<slug:ws>/inbox/rules/<int:rule_id>/toggle/", views.rule_toggle_view, name="config_rule_toggle"),
    path("w/<slug:ws>/inbox/rules/<int:rule_id>/delete/", views.rule_delete_view, name="config_rule_delete"),
    path("w/<slug:ws>/inbox/replies/", views.replies_view, name="config_replies"),
    path("w/<slug:ws>/inbox/replies/new/", views.reply_edit_view, name="config_reply_new"),
    path("w/<slug:ws>/inbox/replies/<int:reply_id>/", views.reply_edit_view, name="config_reply_edit"),
    path("w/<slug:ws>/inbox/replies/<int:reply_id>/delete/", views.reply_delete_view, name="config_reply_delete"),
    path("w/<slug:ws>/inbox/report/", views.report_view, name="config_report"),
]
