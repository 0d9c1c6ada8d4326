from django.urls import path

from sokhan.channels import views

app_name = "channels"

urlpatterns = [
    path("channels/oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("w/<slug:ws>/channels/", views.channel_list, name="list"),
    path("w/<slug:ws>/channels/connect/", views.connect_index, name="connect"),
    path("w/<slug:ws>/channels/connect/<str:network>/", views.connect_network, name="connect_network"),
    path("w/<slug:ws>/channels/consistency/", views.consistency, name="consistency"),
    path("w/<slug:ws>/channels/oauth-apps/", views.oauth_apps, name="oauth_apps"),
    path(
        "w/<slug:ws>/channels/oauth-apps/<int:oauthapp_id>/remove/",
        views.oauth_app_remove,
        name="oauth_app_remove",
    ),
    path("w/<slug:ws>/channels/<int:channel_id>/", views.channel_detail, name="detail"),
    path("w/<slug:ws>/channels/<int:channel_id>/reconnect/", views.channel_reconnect, name="reconnect"),
    path("w/<slug:ws>/channels/<int:channel_id>/check/", views.channel_check, name="check"),
    path("w/<slug:ws>/channels/<int:channel_id>/status/", views.channel_status, name="status"),
    path("w/<slug:ws>/channels/<int:channel_id>/test-post/", views.channel_test_post_view, name="test_post"),
    path("w/<slug:ws>/channels/<int:channel_id>/profile/", views.channel_profile, name="profile"),
]
