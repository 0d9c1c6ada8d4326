from django.urls import URLPattern, path

from sokhan.inbox import views
from sokhan.inbox.urls_config import urlpatterns as config_urlpatterns

app_name = "inbox"

_C = "w/<slug:ws>/inbox/c/<int:conversation_id>/"

urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/inbox/", views.inbox, name="inbox"),
    path("w/<slug:ws>/inbox/updates/", views.updates, name="updates"),
    path("w/<slug:ws>/inbox/views/", views.view_save, name="view_save"),
    path("w/<slug:ws>/inbox/views/<int:view_id>/delete/", views.view_delete, name="view_delete"),
    path(_C, views.conversation_page, name="conversation"),
    path(f"{_C}reply/", views.reply, name="reply"),
    path(f"{_C}status/", views.set_status, name="status"),
    path(f"{_C}assign/", views.assign, name="assign"),
    path(f"{_C}priority/", views.set_priority, name="priority"),
    path(f"{_C}tags/", views.tag, name="tag"),
    path(f"{_C}notes/", views.note, name="note"),
    path(f"{_C}presence/", views.presence, name="presence"),
    path(f"{_C}messages/<int:message_id>/action/", views.act_on_message, name="message_action"),
    path(f"{_C}messages/<int:message_id>/retry/", views.retry, name="retry"),
    path(f"{_C}messages/<int:message_id>/private/", views.message_private, name="message_private"),
]
urlpatterns += config_urlpatterns
