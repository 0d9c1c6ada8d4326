"""The hand-computed inbox scenario shared by the pure and the database tests.

Tehran (UTC+03:30, no DST), Persian default hours: Saturday–Wednesday 09:00–17:00, Thursday
09:00–13:00, Friday closed. Period: Saturday 15 November 2025 00:00 to Saturday 29 November 00:00
(two Iranian weeks). Channel 1 and 2; agents 10 (Sara) and 20 (Reza).

    msg conv ch  received (local)      answered (local)      by   all hours        business hours
    m1  100  1   Sat 15 Nov 10:00      Sat 15 Nov 11:00      10   3 600            3 600
    m2  100  1   Sat 15 Nov 10:30      Sat 15 Nov 11:00      10   1 800            1 800
    m3  200  2   Thu 20 Nov 12:00      Sat 22 Nov 10:00      20   165 600 (46 h)   7 200 (1 h Thu + 1 h Sat)
    m4  300  2   Fri 21 Nov 15:00      Sat 22 Nov 09:30      10   66 600 (18.5 h)  1 800 (Friday closed)
    m5  300  2   Sat 22 Nov 12:00      —                     —    unanswered
    m6  400  1   Sun 23 Nov 08:00      Sun 23 Nov 09:15      20   4 500            900 (opens at 09:00)
    m0  100  1   Fri 14 Nov 23:00      Sat 15 Nov 11:00      10   before the period: left out
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sokhan.metrics.response import Received

TEHRAN = ZoneInfo("Asia/Tehran")
SARA, REZA = 10, 20
START = datetime(2025, 11, 15, tzinfo=TEHRAN)
END = datetime(2025, 11, 29, tzinfo=TEHRAN)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=TEHRAN)


# (id, conversation, channel, created, answered, by)
MESSAGES: list[tuple[int, int, int, datetime, datetime | None, int | None]] = [
    (1, 100, 1, at(15, 10), at(15, 11), SARA),
    (2, 100, 1, at(15, 10, 30), at(15, 11), SARA),
    (3, 200, 2, at(20, 12), at(22, 10), REZA),
    (4, 300, 2, at(21, 15), at(22, 9, 30), SARA),
    (5, 300, 2, at(22, 12), None, None),
    (6, 400, 1, at(23, 8), at(23, 9, 15), REZA),
    (0, 100, 1, at(14, 23), at(15, 11), SARA),
]


def rows() -> list[Received]:
    return [Received(i, conv, ch, created, answered, by) for i, conv, ch, created, answered, by in MESSAGES]
