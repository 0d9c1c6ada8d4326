from django.urls import path

from sokhan.runtime import views

urlpatterns = [
    path("health/", views.health, name="health"),
]
