from django.urls import URLPattern, path

from sokhan.notifications import views

app_name = "notifications"

urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/notifications/", views.notification_list, name="list"),
    path("w/<slug:ws>/notifications/read-all/", views.notification_read_all, name="read_all"),
    path("w/<slug:ws>/notifications/email/", views.email_preference, name="email"),
    path("w/<slug:ws>/notifications/<int:notification_id>/read/", views.notification_read, name="read"),
]
