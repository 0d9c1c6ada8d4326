"""Publishing pages (composer, calendar, queue); each module exports its ``urlpatterns``."""
