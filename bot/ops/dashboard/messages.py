"""What ``!dashboard`` says: the sign-in link by direct message, and its answers in the room."""

from __future__ import annotations

from bot.matrix.rendering import Fragment, bold, code, lines, link


def sign_in_link(url: str, prefix: str) -> Fragment:
    return lines(
        bold("Your sign-in link to the fxhelp-bot dashboard:") + " " + link(url, url),
        "It works once, for 10 minutes, and signs you in for 12 hours. Do not share it. "
        "To end every session: " + code(f"{prefix}dashboard revoke") + ".",
    )


LINK_SENT = "I sent you a link in a direct message."
NOT_SET_UP = "The dashboard is not set up: the bot's HTTP endpoint is off (http.listen)."


def revoked(ended: int) -> str:
    return (f"Ended {ended} dashboard session{'' if ended == 1 else 's'} of yours, "
            "and voided your unused sign-in links.")
