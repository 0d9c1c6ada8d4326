"""``response_report`` over the inbox tables: the scenario of tests/metrics/scenario.py stored as
rows, plus what the database adds (scoping, needs_response, automatic replies, settings)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from tests.metrics.scenario import END, MESSAGES, START, at, rows

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.core.models import Calendar, Language, User, Workspace
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Conversation, Direction, InboxSettings, Kind, Message, SendState
from sokhan.metrics.business_hours import default_for
from sokhan.metrics.inbox_report import ReportRow, report_csv, response_report
from sokhan.metrics.response import compute

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> None:
    translation.activate("en")


class Inbox:
    """Stores the scenario: scenario ids → channels, users and conversations of one workspace."""

    def __init__(self, workspace: Workspace, users: dict[int, User] | None = None) -> None:
        self.workspace = workspace
        self.channels = {
            1: Channel.objects.create(workspace=workspace, network="telegram", display_name="Telegram", remote_id="1"),
            2: Channel.objects.create(workspace=workspace, network="mastodon", display_name="Mastodon", remote_id="2"),
        }
        self.users = users or {
            10: User.objects.create_user("sara@example.com", None, full_name="Sara"),
            20: User.objects.create_user("reza@example.com", None, full_name="Reza"),
        }
        self.conversations: dict[int, Conversation] = {}

    def conversation(self, number: int, channel: int) -> Conversation:
        if number not in self.conversations:
            self.conversations[number] = Conversation.objects.create(
                workspace=self.workspace, channel=self.channels[channel], kind=Kind.COMMENT, thread_key=str(number)
            )
        return self.conversations[number]

    def received(
        self,
        conversation: int,
        channel: int,
        created: datetime,
        answered: datetime | None = None,
        by: int | None = None,
        **extra: object,
    ) -> Message:
        return Message.objects.create(
            workspace=self.workspace,
            conversation=self.conversation(conversation, channel),
            channel=self.channels[channel],
            direction=Direction.IN,
            kind=Kind.COMMENT,
            text="?",
            created_at=created,
            answered_at=answered,
            answered_by=self.users[by] if by else None,
            **extra,  # type: ignore[arg-type]
        )

    def reply(self, conversation: int, channel: int, created: datetime, by: int | None, **extra: object) -> Message:
        return Message.objects.create(
            workspace=self.workspace,
            conversation=self.conversation(conversation, channel),
            channel=self.channels[channel],
            direction=Direction.OUT,
            kind=Kind.COMMENT,
            text="!",
            created_at=created,
            sent_by=self.users[by] if by else None,
            **{"send_state": SendState.SENT, **extra},  # type: ignore[arg-type]
        )


@pytest.fixture
def inbox(workspace: Workspace, owner: User) -> Inbox:
    # The fixture's workspace is Persian, Jalali, Asia/Tehran: Persian default hours apply.
    assert (workspace.language, workspace.calendar, workspace.timezone) == ("fa", "jalali", "Asia/Tehran")
    inbox = Inbox(workspace)
    for _id, conversation, channel, created, answered, by in MESSAGES:
        inbox.received(conversation, channel, created, answered, by)
    for conversation, channel, created, by in {(100, 1, at(15, 11), 10), (200, 2, at(22, 10), 20)}:
        inbox.reply(conversation, channel, created, by)
    return inbox


def values(row: ReportRow) -> tuple[object, ...]:
    return (
        row.received,
        row.answered,
        row.response_rate,
        row.conversations,
        row.first_responses,
        row.first_response_time,
        row.average_response_time,
        row.median_response_time,
    )


def test_total_matches_the_hand_computed_scenario(inbox: Inbox) -> None:
    (all_hours,) = response_report(inbox.workspace, START, END)
    assert (all_hours.group_by, all_hours.key, all_hours.business_hours) == ("total", "", False)
    assert values(all_hours) == (6, 5, 5 / 6, 4, 4, 60075, 48420, 4500)
    (business,) = response_report(inbox.workspace, START, END, business_hours=True)
    assert business.business_hours
    assert values(business) == (6, 5, 5 / 6, 4, 4, 3375, 3060, 1800)


@pytest.mark.parametrize("group_by", ["total", "channel", "agent", "day", "week", "month"])
@pytest.mark.parametrize("business", [False, True])
def test_every_grouping_agrees_with_the_pure_functions(inbox: Inbox, group_by: str, business: bool) -> None:
    report = response_report(inbox.workspace, START, END, group_by=group_by, business_hours=business)
    expected = compute(
        rows(),
        start=START,
        end=END,
        group_by=group_by,  # type: ignore[arg-type]
        hours=default_for("fa") if business else None,
        zone="Asia/Tehran",
        week_start=5,  # Saturday: the workspace is Persian
        calendar="jalali",
    )
    assert len(report) == len(expected)
    by_key = {row.key: values(row) for row in report}
    for key, result in expected:
        if isinstance(key, int):  # scenario ids → primary keys
            key = (inbox.channels if group_by == "channel" else inbox.users)[key].pk
        text = "" if key is None else str(key) if isinstance(key, int) else key.isoformat()
        key_values = by_key[text]
        assert key_values == (
            result.received,
            result.answered,
            result.response_rate,
            result.conversations,
            result.first_responses,
            result.first_response_time,
            result.average_response_time,
            result.median_response_time,
        )


def test_channel_and_agent_rows_are_labelled_and_sorted_by_name(inbox: Inbox) -> None:
    channels = response_report(inbox.workspace, START, END, group_by="channel")
    assert [(r.key, r.label) for r in channels] == [
        (str(inbox.channels[2].pk), "Mastodon"),
        (str(inbox.channels[1].pk), "Telegram"),
    ]
    assert channels[0].median_response_time == (165600 + 66600) / 2  # even count
    agents = response_report(inbox.workspace, START, END, group_by="agent", business_hours=True)
    assert [(r.label, r.response_rate) for r in agents] == [("Reza", None), ("Sara", None)]
    assert values(agents[1]) == (3, 3, None, 2, 2, 2700, 2400, 1800)


def test_buckets_follow_the_workspace_calendar_and_week(inbox: Inbox) -> None:
    weeks = response_report(inbox.workspace, START, END, group_by="week")
    assert [r.key for r in weeks] == ["2025-11-15", "2025-11-22"]  # Saturdays
    assert [r.label for r in weeks] == ["۲۴ آبان ۱۴۰۴", "۱ آذر ۱۴۰۴"]
    months = response_report(inbox.workspace, START, END, group_by="month")
    assert [(r.key, r.label, r.received) for r in months] == [
        ("2025-10-23", "آبان ۱۴۰۴", 4),
        ("2025-11-22", "آذر ۱۴۰۴", 2),
    ]
    days = response_report(inbox.workspace, START, END, group_by="day")
    assert len(days) == 14


def test_gregorian_english_workspace(owner: User) -> None:
    workspace = workspace_create(
        owner=owner,
        name="Acme Berlin",
        slug="berlin",
        timezone_name="Europe/Berlin",
        calendar=Calendar.GREGORIAN,
        language=Language.ENGLISH,
    )
    inbox = Inbox(workspace)
    # Friday 27 March 2026 16:00 CET, answered Monday 30 March 10:00 CEST, over the DST change.
    berlin = ZoneInfo("Europe/Berlin")
    inbox.received(1, 1, datetime(2026, 3, 27, 16, tzinfo=berlin), datetime(2026, 3, 30, 10, tzinfo=berlin), 10)
    start, end = datetime(2026, 3, 1, tzinfo=berlin), datetime(2026, 4, 1, tzinfo=berlin)
    (row,) = response_report(workspace, start, end)
    assert row.average_response_time == 65 * 3600
    (row,) = response_report(workspace, start, end, business_hours=True)
    assert row.average_response_time == 2 * 3600  # Monday–Friday 09:00–17:00 in Berlin
    weeks = response_report(workspace, start, end, group_by="week")
    assert weeks[0].key == "2026-02-23"  # ISO weeks start on Monday
    assert response_report(workspace, start, end, group_by="month")[0].label == "March 2026"


def test_scoped_to_the_workspace_and_to_messages_needing_a_response(inbox: Inbox, owner: User) -> None:
    # Spam hidden by the inbox has needs_response=False: not counted at all.
    inbox.received(700, 1, at(24, 10), needs_response=False)
    # Sent messages are not received messages.
    inbox.reply(700, 1, at(24, 11), 10)
    # Another workspace's message in the same period.
    other_ws = workspace_create(owner=owner, name="Other", slug="other")
    other = Inbox(other_ws, inbox.users)
    other.received(1, 1, at(24, 10))
    (row,) = response_report(inbox.workspace, START, END)
    assert (row.received, row.answered) == (6, 5)
    (row,) = response_report(other_ws, START, END)
    assert (row.received, row.answered, row.response_rate) == (1, 0, 0.0)


def test_automatic_replies_are_not_answers(inbox: Inbox) -> None:
    # Conversation 500: a rule replied at 10:01 (the inbox marked the message answered, by no one);
    # Sara replied at 12:00. Conversation 600: only the rule replied.
    inbox.received(500, 1, at(24, 10), at(24, 10, 1), None)
    inbox.reply(500, 1, at(24, 10, 1), None, automatic=True)
    inbox.reply(500, 1, at(24, 12), 10)
    inbox.received(600, 2, at(24, 11), at(24, 11, 1), None)
    inbox.reply(600, 2, at(24, 11, 1), None, automatic=True)
    (row,) = response_report(inbox.workspace, START, END)
    # Times: 3 600, 1 800, 165 600, 66 600, 4 500 and 7 200 (m9 answered by Sara at 12:00).
    assert values(row) == (8, 6, 6 / 8, 6, 5, 247500 / 5, 249300 / 6, (4500 + 7200) / 2)
    (row,) = response_report(inbox.workspace, START, END, business_hours=True)
    assert values(row) == (8, 6, 6 / 8, 6, 5, 20700 / 5, 22500 / 6, (1800 + 3600) / 2)
    sara = next(r for r in response_report(inbox.workspace, START, END, group_by="agent") if r.label == "Sara")
    assert (sara.received, sara.average_response_time) == (4, (3600 + 1800 + 66600 + 7200) / 4)


def test_failed_replies_do_not_answer_and_network_replies_have_no_agent(inbox: Inbox) -> None:
    inbox.received(800, 1, at(24, 10), at(24, 10, 30), None)
    inbox.reply(800, 1, at(24, 10, 5), 10, send_state=SendState.FAILED)
    inbox.reply(800, 1, at(24, 10, 30), None)  # written on the network, imported
    agents = response_report(inbox.workspace, START, END, group_by="agent")
    assert [r.label for r in agents] == ["Reza", "Sara", "Unknown person"]
    assert values(agents[-1]) == (1, 1, None, 1, 1, 1800, 1800, 1800)


def test_reads_in_at_most_three_queries(inbox: Inbox) -> None:
    with CaptureQueriesContext(connection) as queries:
        response_report(inbox.workspace, START, END, group_by="channel")
    assert len(queries) == 1  # received messages, with their channels' and answerers' names
    inbox.received(500, 1, at(24, 10), at(24, 10, 1), None)
    with CaptureQueriesContext(connection) as queries:
        response_report(inbox.workspace, START, END, group_by="agent", business_hours=True)
    assert len(queries) == 3  # inbox settings, received messages, replies after automatic answers


def test_inbox_settings_hours_and_zone_are_used(inbox: Inbox) -> None:
    InboxSettings.objects.create(
        workspace=inbox.workspace,
        business_hours={str(day): [["00:00", "24:00"]] for day in range(7)},
        timezone="Asia/Tehran",
    )
    (row,) = response_report(inbox.workspace, START, END, business_hours=True)
    assert row.average_response_time == 48420  # open all the time: the same as all hours
    InboxSettings.objects.filter(workspace=inbox.workspace).update(business_hours={}, timezone="")
    (row,) = response_report(inbox.workspace, START, END, business_hours=True)
    assert row.average_response_time == 3060  # empty: the Persian default


def test_bad_stored_hours_raise_a_domain_error(inbox: Inbox) -> None:
    InboxSettings.objects.create(workspace=inbox.workspace, business_hours={"9": []})
    with pytest.raises(DomainError) as caught:
        response_report(inbox.workspace, START, END, business_hours=True)
    assert "business_hours.9" in caught.value.fields


def test_arguments_are_checked(inbox: Inbox) -> None:
    with pytest.raises(DomainError) as caught:
        response_report(inbox.workspace, START, END, group_by="year")
    assert caught.value.fields == {"group_by": "invalid"}
    assert "Unknown grouping year" in caught.value.message
    with pytest.raises(DomainError) as caught:
        response_report(inbox.workspace, END, START)
    assert caught.value.fields == {"end": "invalid"}
    with pytest.raises(ValueError, match="aware"):
        response_report(inbox.workspace, START.replace(tzinfo=None), END)


def test_csv_export(inbox: Inbox) -> None:
    inbox.channels[1].display_name = "=HYPERLINK(1)"
    inbox.channels[1].save()
    report = response_report(inbox.workspace, START, END, group_by="channel", business_hours=True)
    text = report_csv(report)
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert lines[0] == [
        "group_by",
        "key",
        "label",
        "received",
        "answered",
        "response_rate",
        "conversations",
        "first_responses",
        "first_response_time_business_hours",
        "average_response_time_business_hours",
        "median_response_time_business_hours",
    ]
    by_label = {line[2]: line for line in lines[1:]}
    assert by_label["'=HYPERLINK(1)"][3:] == ["3", "3", "1.0000", "2", "2", "2250.0", "2100.0", "1800.0"]
    assert by_label["Mastodon"][3:] == ["3", "2", "0.6667", "2", "2", "4500.0", "4500.0", "4500.0"]
    all_hours = report_csv(response_report(inbox.workspace, START, END, group_by="day"))
    header, empty_day = list(csv.reader(io.StringIO(all_hours[1:])))[:3:2]
    assert header[-1] == "median_response_time"
    assert empty_day[3:] == ["0", "0", "", "0", "0", "", "", ""]  # 16 November: nothing received
    with pytest.raises(ValueError, match="one variant"):
        report_csv([*report, *response_report(inbox.workspace, START, END)])
