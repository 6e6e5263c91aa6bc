"""The bot's answer to each command, so edits and redactions of the command can reach it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_optional_timestamp, from_timestamp, to_timestamp
from bot.storage.database import Database


@dataclass(frozen=True)
class CommandAnswer:
    command_event_id: str
    room_id: str
    sender: str
    thread_root: str | None
    command_sent_at: datetime
    command: str | None  # None: an unknown command
    has_effects: bool  # the command did something: an edit of it is not applied
    answer_event_id: str
    answer_plain: str
    answer_html: str
    answered_at: datetime
    last_edit_at: datetime | None = None
    edit_refused: bool = False
    redacted: bool = False


class CommandAnswers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, command_event_id: str) -> CommandAnswer | None:
        row = await self._db.fetch_one("SELECT * FROM command_answers WHERE command_event_id = ?",
                                       (command_event_id,))
        if row is None:
            return None
        return CommandAnswer(
            row["command_event_id"], row["room_id"], row["sender"], row["thread_root"],
            from_timestamp(row["command_sent_at"]), row["command"], bool(row["has_effects"]),
            row["answer_event_id"], row["answer_plain"], row["answer_html"], from_timestamp(row["answered_at"]),
            from_optional_timestamp(row["last_edit_at"]), bool(row["edit_refused"]), bool(row["redacted"]),
        )

    async def record(self, answer: CommandAnswer) -> None:
        """The command's (new) answer; an answer recorded earlier for the same command is replaced."""
        await self._db.execute(
            "INSERT OR REPLACE INTO command_answers (command_event_id, room_id, sender, thread_root, "
            "command_sent_at, command, has_effects, answer_event_id, answer_plain, answer_html, answered_at, "
            "last_edit_at, edit_refused, redacted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (answer.command_event_id, answer.room_id, answer.sender, answer.thread_root,
             to_timestamp(answer.command_sent_at), answer.command, int(answer.has_effects), answer.answer_event_id,
             answer.answer_plain, answer.answer_html, to_timestamp(answer.answered_at),
             None if answer.last_edit_at is None else to_timestamp(answer.last_edit_at),
             int(answer.edit_refused), int(answer.redacted)),
        )

    async def edited(self, command_event_id: str, edit_at: datetime, command: str | None, plain: str,
                     html: str, *, refused: bool = False, has_effects: bool = False) -> None:
        """The answer now reads ``plain``/``html``; ``has_effects``: the edited command did something."""
        await self._db.execute(
            "UPDATE command_answers SET last_edit_at = ?, command = ?, answer_plain = ?, answer_html = ?, "
            "edit_refused = ?, has_effects = MAX(has_effects, ?) WHERE command_event_id = ?",
            (to_timestamp(edit_at), command, plain, html, int(refused), int(has_effects), command_event_id),
        )

    async def seen_edit(self, command_event_id: str, edit_at: datetime) -> None:
        """An edit that changed nothing in the answer still counts as the latest one."""
        await self._db.execute("UPDATE command_answers SET last_edit_at = ? WHERE command_event_id = ?",
                               (to_timestamp(edit_at), command_event_id))

    async def mark_redacted(self, command_event_id: str, edit_at: datetime | None = None) -> None:
        await self._db.execute(
            "UPDATE command_answers SET redacted = 1, last_edit_at = COALESCE(?, last_edit_at) "
            "WHERE command_event_id = ?",
            (None if edit_at is None else to_timestamp(edit_at), command_event_id),
        )

    async def forget_before(self, moment: datetime) -> int:
        """Answers given before then: their commands are long past the edit window. Returns how many."""
        return await self._db.execute_changes("DELETE FROM command_answers WHERE answered_at < ?",
                                              (to_timestamp(moment),))
