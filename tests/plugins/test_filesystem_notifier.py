"""What the filesystem notifier adds to the notifier suite (see tests/testing/test_suites.py):
readable message files named by time and key, event lines without payloads, and repeats
dropped across instances sharing a folder."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from leasekit.builtin.filesystem import EVENTS_FILE, FilesystemNotifier
from leasekit.domain.clock import FixedClock
from leasekit.domain.events import DomainEvent
from leasekit.plugins import PluginManager, resolve_adapters
from leasekit.ports import Message

PluginFactory = Callable[..., PluginManager]
EventFactory = Callable[..., DomainEvent]

MESSAGE = Message(
    recipient="zhang.wei@example.com",
    subject="您的注册码 (your enrolment code)",
    body="Your enrolment code is 314159.\nIt expires in 15 minutes.",
    idempotency_key="enrolment:user-7",
)
FILE_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{32}\.txt")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15))


@pytest.fixture
def notifier(tmp_path: Path, clock: FixedClock) -> FilesystemNotifier:
    return FilesystemNotifier(tmp_path / "messages", clock)


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _event_lines(folder: Path) -> list[dict[str, str]]:
    text = (folder / EVENTS_FILE).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_message_is_a_text_file_with_its_headers(notifier: FilesystemNotifier) -> None:
    notifier.send(MESSAGE)
    (name,) = _files(notifier.folder)
    assert FILE_NAME.fullmatch(name)
    assert name.startswith("20240115T093000.000000Z-")
    assert (notifier.folder / name).read_text(encoding="utf-8") == (
        "To: zhang.wei@example.com\n"
        "Subject: 您的注册码 (your enrolment code)\n"
        "\n"
        "Your enrolment code is 314159.\nIt expires in 15 minutes.\n"
    )


def test_a_repeated_message_writes_nothing_even_later(
    notifier: FilesystemNotifier, clock: FixedClock
) -> None:
    notifier.send(MESSAGE)
    (first,) = _files(notifier.folder)
    content = (notifier.folder / first).read_bytes()
    clock.advance(days=1)
    notifier.send(MESSAGE)
    FilesystemNotifier(notifier.folder, clock).send(MESSAGE)
    assert _files(notifier.folder) == [first]
    assert (notifier.folder / first).read_bytes() == content


def test_messages_list_in_the_order_they_were_sent(
    notifier: FilesystemNotifier, clock: FixedClock
) -> None:
    for number in range(3):
        clock.advance(days=1)
        notifier.send(Message("li.na@example.com", "Reset", f"link {number}", f"reset:{number}"))
    texts = [(notifier.folder / name).read_text() for name in _files(notifier.folder)]
    assert [text.splitlines()[-1] for text in texts] == ["link 0", "link 1", "link 2"]


def test_an_event_is_a_line_without_its_payload(
    notifier: FilesystemNotifier, make_event: EventFactory
) -> None:
    event = make_event("contract_signed", customer="Zhang Wei", phone="13800000000")
    notifier.notify(event)
    assert _event_lines(notifier.folder) == [
        {
            "name": "contract_signed",
            "subject": "contract",
            "subject_id": "contract-1",
            "business_date": "2024-01-15",
            "idempotency_key": event.idempotency_key,
        }
    ]
    text = (notifier.folder / EVENTS_FILE).read_text(encoding="utf-8")
    assert "Zhang Wei" not in text
    assert "13800000000" not in text


def test_a_redelivered_event_is_written_once_whoever_delivers_it(
    notifier: FilesystemNotifier, clock: FixedClock, make_event: EventFactory
) -> None:
    """A second instance stands for a second process writing to the same folder."""
    other = FilesystemNotifier(notifier.folder, clock)
    first, second = make_event("contract_signed"), make_event("contract_disbursed")
    notifier.notify(first)
    other.notify(first)
    other.notify(second)
    notifier.notify(second)
    notifier.notify(first)
    keys = [line["idempotency_key"] for line in _event_lines(notifier.folder)]
    assert keys == [first.idempotency_key, second.idempotency_key]


def test_events_start_a_new_file_after_the_folder_was_emptied(
    notifier: FilesystemNotifier, make_event: EventFactory
) -> None:
    notifier.notify(make_event("contract_signed"))
    (notifier.folder / EVENTS_FILE).unlink()
    later = make_event("contract_settled")
    notifier.notify(later)
    assert [line["name"] for line in _event_lines(notifier.folder)] == ["contract_settled"]


def test_settings_choose_it_under_the_data_dir_or_the_dir_option(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    chosen = {"notifier": "filesystem"}
    adapters = resolve_adapters(make_pm(), chosen, {}, tmp_path, clock)
    adapters.notifier.send(MESSAGE)
    assert len(_files(tmp_path / "messages")) == 1
    elsewhere = tmp_path / "outbox-mail"
    options = {"notifier": {"dir": str(elsewhere)}}
    notifier = resolve_adapters(make_pm(), chosen, options, tmp_path, clock).notifier
    assert isinstance(notifier, FilesystemNotifier)
    assert notifier.folder == elsewhere
