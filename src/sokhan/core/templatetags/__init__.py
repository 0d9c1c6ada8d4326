"""Template tag libraries of the core app (``{% load sokhan_format %}``)."""
