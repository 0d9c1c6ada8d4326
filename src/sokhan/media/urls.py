from django.urls import path

from sokhan.media import views

app_name = "media"

urlpatterns = [
    path("w/<slug:ws>/media/", views.library, name="library"),
    path("w/<slug:ws>/media/<int:asset_id>/", views.detail, name="detail"),
    path("w/<slug:ws>/media/<int:asset_id>/file/", views.original_file, name="file"),
    path("w/<slug:ws>/media/<int:asset_id>/delete/", views.delete, name="delete"),
]
