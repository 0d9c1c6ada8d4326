from django.urls import path

from sokhan.automation import views

app_name = "automation"

urlpatterns = [
    path("w/<slug:ws>/import/", views.import_upload, name="import"),
    path("w/<slug:ws>/import/<int:batch_id>/", views.import_batch, name="import_batch"),
    path("w/<slug:ws>/import/<int:batch_id>/errors.csv", views.import_errors, name="import_errors"),
    path("w/<slug:ws>/feeds/", views.feed_list, name="feeds"),
    path("w/<slug:ws>/feeds/<int:watch_id>/", views.feed_edit, name="feed_edit"),
    path("w/<slug:ws>/feeds/<int:watch_id>/check/", views.feed_check, name="feed_check"),
    path("w/<slug:ws>/feeds/<int:watch_id>/toggle/", views.feed_toggle, name="feed_toggle"),
    path("w/<slug:ws>/feeds/<int:watch_id>/delete/", views.feed_delete, name="feed_delete"),
    path("w/<slug:ws>/recurring/", views.recurring_list, name="recurring"),
    path("w/<slug:ws>/recurring/<int:series_id>/toggle/", views.recurring_toggle, name="recurring_toggle"),
    path("w/<slug:ws>/recurring/<int:series_id>/delete/", views.recurring_delete, name="recurring_delete"),
]
