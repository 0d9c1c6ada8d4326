from django.urls import URLPattern, URLResolver, path

from sokhan.publishing import calendar_feed, feeds
from sokhan.publishing.views import brand_rules, calendar, composer, queue

app_name = "publishing"

urlpatterns: list[URLPattern | URLResolver] = [
    path("feeds/<str:token>/rss.xml", feeds.feed_view, {"kind": "rss"}, name="feed_rss"),
    path("feeds/<str:token>/atom.xml", feeds.feed_view, {"kind": "atom"}, name="feed_atom"),
    path("calendar/<str:token>.ics", calendar_feed.calendar_view, name="calendar_feed"),
    *composer.urlpatterns,
    *calendar.urlpatterns,
    *queue.urlpatterns,
    *brand_rules.urlpatterns,
]
