"""Helpers shared by the web UI tests."""

from __future__ import annotations

import re

from django.test import Client

from sokhan.core.models import User

PASSWORD = "correct horse battery staple"  # the root conftest's fixture users use this


def sign_in(client: Client, email: str, password: str = PASSWORD, *, language: str | None = "en") -> None:
    """Sign in through the form; by default the user's own language is set to English first."""
    if language is not None:
        User.objects.filter(email=email).update(language=language)
    response = client.post("/login/", {"email": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]


def nav_links(html: str) -> set[str]:
    """The hrefs inside the workspace navigation landmark."""
    match = re.search(r'<nav class="ws-nav".*?</nav>', html, re.S)
    return set(re.findall(r'href="([^"]+)"', match.group(0))) if match else set()
