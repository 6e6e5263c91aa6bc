"""The words of the !iam answers: the usernames linked to you, a link made, and the errors.

Kept apart from ``commands/identity.py`` so the command reads as parse -> storage -> answer and these
read as text.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.matrix.rendering import Fragment, bullets, code, echo, lines
from bot.storage.identities import IdentityLink, Service

_WHAT_FOR = {
    Service.SUMO: "your first answers on the support forum count for you in {prefix}top",
    Service.FORUM: "your replies on consult topics count as answers, and your own consults' topics know you",
}
_NOT_SET_UP = {
    Service.SUMO: "Support-forum tracking is not set up on this bot (no sumo section); ask a moderator.",
    Service.FORUM: "The consult forum is not set up on this bot (no forum section); ask a moderator.",
}


def linked_to_you(links: Mapping[Service, IdentityLink], prefix: str) -> Fragment | str:
    if not links:
        return f"No usernames linked yet. Use {prefix}iam sumo <username> and {prefix}iam forum <username>."
    items = [f"{service.value}: " + code(link.username) for service, link in sorted(links.items())]
    return lines("Linked to you:", bullets(items))


def not_set_up(service: Service) -> str:
    return _NOT_SET_UP[service]


def bad_username(username: str) -> str:
    return f"username may hold letters, digits and . _ - + @ only, not {echo(username)!r}"


def name_taken(service: Service, name: str, holder: str) -> str:
    return f"The {service.value} username {name} is already linked to {holder}. If it is yours, ask a moderator."


def linked(service: Service, name: str, prefix: str) -> str:
    what_for = _WHAT_FOR[service].format(prefix=prefix)
    return f"Got it: you are {name} on {service.value}, so {what_for}."
