"""Time-based one-time passwords (RFC 6238) for sign-in, with replay protection.

A code is accepted for the current 30-second step or one step either side (clock drift). The step
that matched is stored in ``User.totp_last_step`` with a conditional update, so the same code (or an
older one) cannot be used twice, even by two requests racing each other.
"""

from __future__ import annotations

import hmac
import io
import time

import pyotp
import qrcode
import qrcode.image.svg

from sokhan.core.models import User

ISSUER = "Sokhan"
STEP_SECONDS = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, email: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER))


def qr_svg(data: str) -> str:
    """An inline ``<svg>`` element (no XML declaration) encoding ``data``."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _normalise(code: str) -> str:
    # Accept Persian and Arabic-Indic digits and stray spaces from copy-paste.
    table = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
    return "".join(code.translate(table).split())


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step whose code equals ``code``, or None."""
    code = _normalise(code)
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if at is None else at) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            return step
    return None


def verify_and_consume(user: User, code: str) -> bool:
    """True when ``code`` is valid for the user and newer than any code used before."""
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    updated = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if updated:
        user.totp_last_step = step
    return bool(updated)
