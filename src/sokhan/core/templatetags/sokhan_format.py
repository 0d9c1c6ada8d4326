"""Dates and digits in the viewer's calendar, language and time zone.

``{% load sokhan_format %}`` then ``{% ui_date value %}``, ``{% ui_date value "numeric" %}``,
``{% ui_datetime value %}``, ``{% ui_today %}`` and ``{{ count|ui_digits }}``. Calendar and
language come from the context (``ui_calendar``/``ui_language``, set by
``sokhan.web.context.shell``); the time zone is Django's active one, which the middleware sets to
the viewer's. A context without them (e-mails, management commands) falls back to the active
language and its usual calendar (Jalali for Persian).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone, translation

from sokhan.core.calendars import CalendarName, DateStyle, format_date, format_datetime
from sokhan.core.text import to_persian_digits

register = template.Library()

_STYLES: frozenset[str] = frozenset({"long", "short", "numeric"})


def _language(context: template.Context) -> str:
    language = str(context.get("ui_language") or translation.get_language() or "en")
    return "fa" if language.lower().startswith("fa") else "en"


def _calendar(context: template.Context, language: str) -> CalendarName:
    value = context.get("ui_calendar")
    if value in ("gregorian", "jalali"):
        return "jalali" if value == "jalali" else "gregorian"
    return "jalali" if language == "fa" else "gregorian"


def _style(style: str) -> DateStyle:
    if style not in _STYLES:
        raise template.TemplateSyntaxError(f"date style must be long, short or numeric, not {style!r}")
    return "long" if style == "long" else "numeric" if style == "numeric" else "short"


@register.simple_tag(takes_context=True)
def ui_date(context: template.Context, value: date | None, style: str = "short") -> str:
    """A date (or the local date of a datetime) in the viewer's calendar; None/"" → ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    language = _language(context)
    return format_date(value, calendar=_calendar(context, language), language=language, style=_style(style))


@register.simple_tag(takes_context=True)
def ui_datetime(context: template.Context, value: date | None, style: str = "short") -> str:
    """A datetime in the viewer's calendar and time zone; a plain date shows as ``ui_date``."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return ui_date(context, value, style)
    if timezone.is_naive(value):
        # Naive values are wall-clock times already: read them in the viewer's zone, don't shift.
        value = timezone.make_aware(value)
    language = _language(context)
    return format_datetime(
        value,
        calendar=_calendar(context, language),
        language=language,
        tz=timezone.get_current_timezone(),
        style=_style(style),
    )


@register.simple_tag(takes_context=True)
def ui_today(context: template.Context, style: str = "long") -> str:
    """Today in the viewer's time zone and calendar, for page headers."""
    return ui_date(context, timezone.localdate(), style)


@register.filter(is_safe=True)
def ui_digits(value: Any) -> str:
    """Persian digits when the active language is Persian; ``None`` → ""."""
    if value is None:
        return ""
    text = str(value)
    return to_persian_digits(text) if (translation.get_language() or "").startswith("fa") else text
