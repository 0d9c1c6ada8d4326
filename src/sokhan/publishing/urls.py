from django.urls import path

from sokhan.publishing import feeds

urlpatterns = [
    path("feeds/<str:token>/rss.xml", feeds.feed_view, {"kind": "rss"}, name="feed_rss"),
    path("feeds/<str:token>/atom.xml", feeds.feed_view, {"kind": "atom"}, name="feed_atom"),
]
