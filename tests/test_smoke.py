from django.test import Client


def test_health_answers(db: None) -> None:
    assert Client().get("/health/").status_code == 200
