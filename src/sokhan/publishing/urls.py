from django.urls import path

from sokhan.publishing import calendar_feed, feeds

urlpatterns = [
    path("feeds/<str:token>/rss.xml", feeds.feed_view, {"kind": "rss"}, name="feed_rss"),
    path("feeds/<str:token>/atom.xml", feeds.feed_view, {"kind": "atom"}, name="feed_atom"),
    path("calendar/<str:token>.ics", calendar_feed.calendar_view, name="calendar_feed"),
]
