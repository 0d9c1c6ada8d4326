from django.urls import URLPattern, path

from sokhan.approvals import views

app_name = "approvals"

urlpatterns: list[URLPattern] = [
    path("approve/<str:token>/", views.external, name="external"),
    path("w/<slug:ws>/approvals/", views.overview, name="overview"),
    path("w/<slug:ws>/approvals/settings/", views.settings_view, name="settings"),
    path("w/<slug:ws>/approvals/links/<int:link_id>/revoke/", views.link_revoke, name="link_revoke"),
    path("w/<slug:ws>/posts/<int:post_id>/review/", views.review_page, name="review"),
    path("w/<slug:ws>/posts/<int:post_id>/review/submit/", views.submit, name="submit"),
    path("w/<slug:ws>/posts/<int:post_id>/review/approve/", views.approve, name="approve"),
    path("w/<slug:ws>/posts/<int:post_id>/review/request-changes/", views.request_changes, name="request_changes"),
    path("w/<slug:ws>/posts/<int:post_id>/review/reject/", views.reject, name="reject"),
    path("w/<slug:ws>/posts/<int:post_id>/review/comments/", views.comment, name="comment"),
    path("w/<slug:ws>/posts/<int:post_id>/review/links/", views.link_create, name="link_create"),
]
