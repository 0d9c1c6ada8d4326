"""Numbers of the listening pages in the viewer's digits: ``{% load listening_format %}`` then
``{{ share|ui_percent }}`` (0.625 → "63%", «۶۳٪») and ``{{ net|ui_signed_percent }}`` (−0.25 → "−25%").
``None`` (no data) shows as an em dash. ``{{ mention.label|sentiment_name }}``: a label's name."""

from __future__ import annotations

from django import template
from django.utils import translation

from sokhan.core.text import to_persian_digits
from sokhan.listening.mention_filters import NO_LABEL, SENTIMENT_LABELS

register = template.Library()

NO_VALUE = "—"


def _persian() -> bool:
    return (translation.get_language() or "").startswith("fa")


def _percent(value: float) -> str:
    number = f"{round(abs(value) * 100)}"
    # Persian writes its own percent sign (U+066A) after Persian digits.
    return f"{to_persian_digits(number)}٪" if _persian() else f"{number}%"


@register.filter
def ui_percent(value: float | None) -> str:
    return NO_VALUE if value is None else _percent(value)


@register.filter
def ui_signed_percent(value: float | None) -> str:
    """A signed share such as net sentiment; the sign is kept next to the number in RTL text by
    the template (``<bdi dir="ltr">``)."""
    if value is None:
        return NO_VALUE
    sign = "+" if round(value * 100) > 0 else "−" if round(value * 100) < 0 else ""
    return f"{sign}{_percent(value)}"


@register.filter
def sentiment_name(value: str) -> str:
    return str(SENTIMENT_LABELS.get(value or NO_LABEL, value))
