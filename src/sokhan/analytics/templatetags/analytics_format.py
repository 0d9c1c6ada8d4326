"""``{{ value|metric }}`` and ``{{ value|metric:1 }}``: a number in the viewer's digits, "—" when
missing (never 0)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import translation

from sokhan.core.text import to_persian_digits

register = template.Library()


@register.filter
def metric(value: Any, decimals: int = 0) -> str:
    if value is None or value == "":
        return "—"
    text = f"{float(value):,.{int(decimals)}f}"
    if (translation.get_language() or "").startswith("fa"):
        return to_persian_digits(text.replace(",", "٬").replace(".", "٫"))
    return text


@register.filter
def signed(value: Any, decimals: int = 1) -> str:
    """A change with its sign: +12.5, −3.0; "—" when missing."""
    if value is None:
        return "—"
    sign = "+" if float(value) > 0 else "−" if float(value) < 0 else ""
    return sign + metric(abs(float(value)), decimals)
