from django.urls import URLPattern, path

from sokhan.analytics import views

app_name = "analytics"

_W = "w/<slug:ws>/analytics/"

urlpatterns: list[URLPattern] = [
    path(_W, views.overview, name="overview"),
    path(f"{_W}channels/<int:channel_id>/", views.channel_page, name="channel"),
    path(f"{_W}posts/<int:target_id>/", views.post_page, name="post"),
    path(f"{_W}content/", views.content, name="content"),
    path(f"{_W}hashtags/", views.hashtags, name="hashtags"),
    path(f"{_W}goals/new/", views.goal_new, name="goal_new"),
    path(f"{_W}goals/<int:goal_id>/", views.goal_edit, name="goal_edit"),
    path(f"{_W}goals/<int:goal_id>/delete/", views.goal_delete, name="goal_delete"),
]
