"""The OpenAPI document and the offline interactive docs page."""

from __future__ import annotations

from django.test import Client


def test_openapi_lists_the_routes() -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["info"]["title"] == "Sokhan API"
    paths = doc["paths"]
    expected = {
        "/api/v1/me": {"get"},
        "/api/v1/workspaces": {"get", "post"},
        "/api/v1/workspaces/{ws}": {"get", "patch"},
        "/api/v1/workspaces/{ws}/permissions": {"get"},
        "/api/v1/workspaces/{ws}/members": {"get"},
        "/api/v1/workspaces/{ws}/members/{member_id}": {"patch", "delete"},
        "/api/v1/workspaces/{ws}/invitations": {"get", "post"},
        "/api/v1/workspaces/{ws}/invitations/{invitation_id}": {"delete"},
        "/api/v1/workspaces/{ws}/tokens": {"get", "post"},
        "/api/v1/workspaces/{ws}/tokens/{token_id}": {"delete"},
        "/api/v1/workspaces/{ws}/audit": {"get"},
        "/api/v1/workspaces/{ws}/audit/export": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    schemes = doc["components"]["securitySchemes"]
    assert schemes["TokenAccess"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionAccess"]["in"] == "cookie"
    members = paths["/api/v1/workspaces/{ws}/members"]["get"]
    assert {p["name"] for p in members["parameters"]} >= {"ws", "limit", "offset"}
    assert members["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_docs_page_works_offline() -> None:
    client = Client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/openapi.json" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert 'src="/api/v1/docs/assets/swagger-ui-bundle.js"' in html
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert asset["Content-Type"] in ("text/javascript", "application/javascript")
    assert client.get("/api/v1/docs/assets/..%2Fsettings.py").status_code == 404
