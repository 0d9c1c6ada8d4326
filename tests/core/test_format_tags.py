"""``{% load sokhan_format %}``: dates, datetimes, today and digits in the viewer's settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone, translation
from django.utils.safestring import mark_safe


def render(source: str, **context: Any) -> str:
    return Template("{% load sokhan_format %}" + source).render(Context(context))


PERSIAN = {"ui_language": "fa", "ui_calendar": "jalali"}
ENGLISH = {"ui_language": "en", "ui_calendar": "gregorian"}
MOMENT = datetime(2025, 11, 21, 21, 0, tzinfo=UTC)  # 00:30 on the 22nd in Tehran


def test_ui_date_uses_context_calendar_and_language() -> None:
    day = date(2025, 11, 21)
    assert render("{% ui_date d %}", d=day, **PERSIAN) == "۳۰ آبان ۱۴۰۴"
    assert render("{% ui_date d %}", d=day, **ENGLISH) == "21 Nov 2025"
    assert render("{% ui_date d 'numeric' %}", d=day, ui_language="en", ui_calendar="jalali") == "1404/08/30"
    assert render("{% ui_date d 'long' %}", d=day, **ENGLISH) == "21 November 2025"
    assert render("[{% ui_date d %}]", d=None, **PERSIAN) == "[]"


def test_ui_date_of_a_datetime_uses_the_viewers_day() -> None:
    with timezone.override(ZoneInfo("Asia/Tehran")):
        assert render("{% ui_date d %}", d=MOMENT, **PERSIAN) == "۱ آذر ۱۴۰۴"
    with timezone.override(ZoneInfo("America/New_York")):
        assert render("{% ui_date d %}", d=MOMENT, **ENGLISH) == "21 Nov 2025"


def test_ui_datetime_converts_to_the_active_zone() -> None:
    with timezone.override(ZoneInfo("Asia/Tehran")):
        assert render("{% ui_datetime d %}", d=MOMENT, **PERSIAN) == "۱ آذر ۱۴۰۴، ۰۰:۳۰"
    with timezone.override(ZoneInfo("Europe/Berlin")):
        assert render("{% ui_datetime d %}", d=MOMENT, **ENGLISH) == "21 Nov 2025, 22:00"
        # A naive value is already wall-clock time and is not shifted.
        assert render("{% ui_datetime d %}", d=datetime(2025, 11, 21, 9, 5), **ENGLISH) == "21 Nov 2025, 09:05"
    assert render("{% ui_datetime d %}", d=date(2025, 11, 21), **ENGLISH) == "21 Nov 2025"
    assert render("{% ui_datetime d %}", d=None, **ENGLISH) == ""


def test_missing_context_falls_back_to_the_active_language() -> None:
    with translation.override("fa"):
        assert render("{% ui_date d %}", d=date(2025, 3, 21)) == "۱ فروردین ۱۴۰۴"
    with translation.override("en"):
        assert render("{% ui_date d %}", d=date(2025, 3, 21)) == "21 Mar 2025"


def test_unknown_style_is_a_template_error() -> None:
    with pytest.raises(TemplateSyntaxError, match="long, short or numeric"):
        render("{% ui_date d 'tiny' %}", d=date(2025, 1, 1), **ENGLISH)


def test_ui_today_is_today_in_the_viewers_zone() -> None:
    # 22:00 UTC on Nowruz eve is already 1 Farvardin in Tehran but still 20 March in London.
    fixed = datetime(2025, 3, 20, 22, 0, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=fixed):
        with timezone.override(ZoneInfo("Asia/Tehran")):
            assert render("{% ui_today %}", **PERSIAN) == "۱ فروردین ۱۴۰۴"
        with timezone.override(ZoneInfo("Europe/London")):
            assert render("{% ui_today %}", **ENGLISH) == "20 March 2025"
            assert render("{% ui_today %}", ui_language="en", ui_calendar="jalali") == "30 Esfand 1403"


def test_ui_digits_follows_the_active_language() -> None:
    with translation.override("fa"):
        assert render("{{ n|ui_digits }}", n=1404) == "۱۴۰۴"
        assert render("{{ s|ui_digits }}", s="3 < 4") == "۳ &lt; ۴"  # still escaped
        assert render("{{ s|ui_digits }}", s=mark_safe("<b>12</b>")) == "<b>۱۲</b>"
        assert render("[{{ n|ui_digits }}]", n=None) == "[]"
    with translation.override("en"):
        assert render("{{ s|ui_digits }}", s="۱۲ ١٢ 12") == "۱۲ ١٢ 12"
