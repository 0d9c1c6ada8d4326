from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime

from sokhan.publishing.csv_import import ImportReport, LengthCheck, error_report_csv, parse_hootsuite, parse_sokhan

NOW = datetime(2025, 1, 1, tzinfo=UTC)
CHANNELS = {"tg": "telegram:news", "42": "telegram:news", "Masto": "mastodon:me"}
HEADER = "date,time,channels,text,link,media_urls,labels,calendar\r\n"


def parse(text: str | bytes, length_check: LengthCheck | None = None) -> ImportReport:
    return parse_sokhan(text, tz="Asia/Tehran", known_channels=CHANNELS, now=NOW, length_check=length_check)


def errors(report: ImportReport) -> list[tuple[int, str | None]]:
    return [(e.row_number, e.column) for e in report.errors]


def test_jalali_persian_digits_bom_semicolons_and_quoted_newlines() -> None:
    text = (
        "\ufefftext;date;time;channels;calendar;labels\r\n"
        '"سطر یک\r\nسطر دو";۱۴۰۴/۰۸/۳۰;۰۹:۳۰;"tg, masto";jalali;"خبر، ویژه"\r\n'
        "Hello;2025-11-21;10:00;42;;\r\n"
    )
    report = parse(text.encode())
    assert errors(report) == []
    first, second = report.rows
    assert first.row_number == 2 and first.text == "سطر یک\nسطر دو"
    assert first.scheduled_at == datetime(2025, 11, 21, 6, 0, tzinfo=UTC)
    assert first.channels == ["telegram:news", "mastodon:me"] and first.labels == ["خبر", "ویژه"]
    assert second.row_number == 3 and second.scheduled_at == datetime(2025, 11, 21, 6, 30, tzinfo=UTC)


def test_every_problem_has_row_and_column() -> None:
    text = HEADER + (
        "2025-02-30,09:00,tg,feb thirtieth,,,,\r\n"  # row 2
        "1404/12/30,09:00,tg,esfand 30 of a common year,,,,jalali\r\n"  # row 3
        "2024-06-01,09:00,tg,past,,,,\r\n"  # row 4
        "2025-06-01,09:00,nope,unknown channel,,,,\r\n"  # row 5
        "2025-06-01,09:00,tg,,,,,\r\n"  # row 6
        "2025-06-01,09:00,tg,bad link,ftp://x,,,\r\n"  # row 7
        "2025-06-01,09:00,tg,ok,,,,\r\n"  # row 8
        "2025-06-01,09:00,tg,OK,,,,\r\n"  # row 9 duplicates row 8
        "2025-06-01,09:00,tg,way too long,,,,\r\n"  # row 10
        "2025-06-01,,tg,no time,,,,\r\n"  # row 11
        "2025-06-01,09:00,tg,bad cal,,,,julian\r\n"  # row 12
        "2025-06-01,09:00,tg,media,,https://a.example/x.jpg not-a-url,,\r\n"  # row 13
    )

    def length_check(channel: str, body: str) -> str | None:
        return "too long" if "long" in body else None

    report = parse(text, length_check=length_check)
    assert errors(report) == [
        (2, "date"), (3, "date"), (4, "date"), (5, "channels"), (6, "text"), (7, "link"), (9, None), (10, "text"),
        (11, "time"), (12, "calendar"), (13, "media_urls"),
    ]  # fmt: skip
    messages = {e.row_number: e.message for e in report.errors}
    assert "February" in messages[2] and "Esfand" in messages[3] and "nope" in messages[5]
    assert "row 8" in messages[9] and "telegram:news" in messages[10]
    assert [r.row_number for r in report.rows] == [8]


def test_missing_columns_wrong_delimiter_and_empty() -> None:
    assert parse("date,text\r\n2025-06-01 09:00,hi\r\n").errors[0].message.startswith("Missing column(s): channels")
    wrong = parse("date|time|channels|text\r\n2025-06-01|09:00|tg|hi\r\n")
    assert errors(wrong) == [(1, "date|time|channels|text"), (1, None)]
    assert "one column" in wrong.errors[-1].message
    assert errors(parse(b"")) == [(1, None)]
    assert errors(parse(HEADER)) == [(2, None)]


def test_encodings() -> None:
    cp1256 = (HEADER + "2025-06-01,09:00,tg,\u0633\u0644\u0627\u0645,,,,\r\n").encode("cp1256")
    report = parse(cp1256)
    assert errors(report) == [(2, None)] and "UTF-8" in report.errors[0].message
    utf16 = parse(HEADER.encode("utf-16"))
    assert "UTF-16" in utf16.errors[0].message


def test_hootsuite_both_date_orders() -> None:
    body = '05/06/2025 09:00,Hello,https://example.com\r\n06/05/2025 13:05,"Hi, there"\r\n31/02/2025 09:00,bad\r\n'
    dmy = parse_hootsuite(body, date_order="dmy", tz="UTC", channels=["x:me"], now=NOW)
    assert [r.scheduled_at.month for r in dmy.rows] == [6, 5]
    assert dmy.rows[0].link == "https://example.com" and dmy.rows[1].text == "Hi, there"
    assert [(e.row_number, e.column) for e in dmy.errors] == [(3, "date")]
    mdy = parse_hootsuite(body, date_order="mdy", tz="UTC", now=NOW)
    assert [r.scheduled_at.month for r in mdy.rows] == [5, 6]
    assert [(e.row_number, e.column) for e in mdy.errors] == [(3, "date")]
    header = parse_hootsuite("Date,Message,Link\n05/06/2025 9:00,\n", date_order="dmy", tz="UTC", now=NOW)
    assert [(e.row_number, e.column) for e in header.errors] == [(2, "message")]


def test_error_report_csv_lists_bad_rows_safely() -> None:
    report = parse(HEADER + "2025-06-01,09:00,tg,=HYPERLINK(1),,,,\r\n2025-06-01,09:00,zz,ok,,,,\r\n")
    out = error_report_csv(report)
    assert out.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"))))
    assert rows[0] == ["row", "date", "time", "channels", "text", "link", "media_urls", "labels", "calendar", "errors"]
    assert len(rows) == 2 and rows[1][0] == "3" and rows[1][3] == "zz" and "Unknown channel" in rows[1][-1]


def test_ten_thousand_rows_quickly() -> None:
    lines = [HEADER] + [
        f"1404/09/{1 + i % 28:02d},{i % 24:02d}:{i % 60:02d},tg,post {i},,,,\r\n" for i in range(10_000)
    ]
    started = time.perf_counter()
    report = parse("".join(lines))
    assert time.perf_counter() - started < 10
    assert errors(report) == [] and len(report.rows) == 10_000
