from django.urls import include, path

from sokhan.api.urls import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("sokhan.runtime.urls")),
    path("", include("sokhan.channels.urls")),
    path("", include("sokhan.media.urls")),
    path("", include("sokhan.publishing.urls")),
    path("", include("sokhan.notifications.urls")),
    path("", include("sokhan.approvals.urls")),
    path("", include("sokhan.automation.urls")),
    path("", include("sokhan.inbox.urls")),
    path("", include("sokhan.analytics.urls")),
    path("", include("sokhan.listening.urls")),
    path("", include("sokhan.listening.urls_crisis")),
    path("", include("sokhan.web.urls")),
]
