from django.urls import URLPattern, path

from sokhan.listening import views, views_sources, views_topics

app_name = "listening"

_L = "w/<slug:ws>/listening/"

urlpatterns: list[URLPattern] = [
    path(_L, views.insight, name="insight"),
    path(f"{_L}mentions/", views.mentions, name="mentions"),
    path(f"{_L}mentions/corrections.jsonl", views.corrections_export, name="corrections"),
    path(f"{_L}mentions/<int:mention_id>/sentiment/", views.correct, name="correct"),
    path(f"{_L}topics/", views_topics.topics, name="topics"),
    path(f"{_L}topics/new/", views_topics.topic_new, name="topic_new"),
    path(f"{_L}topics/<int:topic_id>/", views_topics.topic_edit, name="topic"),
    path(f"{_L}topics/<int:topic_id>/toggle/", views_topics.topic_toggle, name="topic_toggle"),
    path(f"{_L}topics/<int:topic_id>/delete/", views_topics.topic_delete, name="topic_delete"),
    path(f"{_L}sources/", views_sources.sources, name="sources"),
    path(f"{_L}sources/import/", views_sources.source_import, name="source_import"),
    path(f"{_L}sources/<int:source_id>/toggle/", views_sources.source_toggle, name="source_toggle"),
    path(f"{_L}sources/<int:source_id>/delete/", views_sources.source_delete, name="source_delete"),
]
