"""Benchmark the common-replies library: `search` on 5,000 replies, `check_draft` on a
280-character draft. Prints figures and PASS/FAIL per target; asserts nothing.

    .venv/bin/python bench/replies_bench.py

The 5,000 replies are the shipped ones again and again with realistic variations (a
platform, a version, a greeting, a tag), written as YAML in a temporary folder and loaded
the way the bot loads its library. Each figure comes with a baseline measured in the same
run, so the ratio holds whatever the machine.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from rapidfuzz import fuzz, utils
from twitter_text import parse_tweet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.features.drafts.check import check_draft, default_check_rules  # noqa: E402
from bot.features.replies.library import ReplyLibrary  # noqa: E402
from bot.features.replies.loading import LONGEST_HANDLE, ROOM_TO_TAILOR  # noqa: E402
from bot.features.replies.model import LOCALES, Reply  # noqa: E402
from bot.features.replies.render import FXHELP  # noqa: E402
from bot.features.replies.ui_strings import varieties_of  # noqa: E402
from bot.features.x_text import LINK_WEIGHT, X_LIMIT, weighted_length  # noqa: E402

LIBRARY_SIZE = 5_000
SEARCH_QUERIES = 500
BASELINE_QUERIES = 10
CHECK_RUNS = 2_000
SEARCH_TARGET_MS = 2.0
CHECK_TARGET_MS = 1.0
# Room for the text once the longest handle, the link and #fxhelp are added, with the room to tailor
# that loading demands.
MAX_TEXT_LENGTH = X_LIMIT - len(f"{LONGEST_HANDLE} ") - (1 + LINK_WEIGHT) - len(f" {FXHELP}") - ROOM_TO_TAILOR
SEED = 20_240_601

DETAILS = {
    "en-US": ["(Windows 11)", "(macOS)", "(Linux)", "(Firefox {v})", "(work laptop)", "(ESR {v})"],
    "es": ["(Windows 11)", "(macOS)", "(Linux)", "(Firefox {v})", "(equipo del trabajo)", "(ESR {v})"],
    "de": ["(Windows 11)", "(macOS)", "(Linux)", "(Firefox {v})", "(Arbeitsrechner)", "(ESR {v})"],
    "fr": ["(Windows 11)", "(macOS)", "(Linux)", "(Firefox {v})", "(PC du travail)", "(ESR {v})"],
}
GREETINGS = {
    "en-US": ["Hi!", "Hey there!", "Oh no!", "Hello!", "Thanks for writing!"],
    "es": ["¡Hola!", "¡Buenas!", "¡Vaya!", "¡Gracias por escribir!"],
    "de": ["Hallo!", "Hi!", "Oh nein!", "Danke für deine Nachricht!"],
    "fr": ["Bonjour !", "Salut !", "Oh non !", "Merci pour votre message !"],
}
EXTRA_TAGS = ["windows", "macos", "linux", "esr", "enterprise", "beta", "nightly", "laptop", "desktop", "school"]

QUERY_WORDS = [
    "passwords", "bookmarks", "restore", "clear cache", "cookies", "sync", "crash", "slow",
    "memory", "update", "refresh", "troubleshoot", "add-ons", "extensions", "pop-ups",
    "private browsing", "tracking protection", "dns over https", "pdf", "video", "downloads",
    "android", "iphone", "focus", "vpn", "relay", "feedback", "screenshot", "homepage",
    "new tab", "default browser", "certificate", "secure connection", "scam", "profile",
    "contraseñas", "marcadores", "Lesezeichen", "Passwörter", "Abstürze", "marque-pages",
    "mot de passe", "téléchargements", "windows 11", "firefox 128",
]


def main() -> None:
    shipped = ReplyLibrary.load(ROOT / "replies")
    shipped_replies = [shipped.get(key) for key in shipped.keys()]
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as folder:
        library_path = Path(folder) / "replies"
        write_library(library_path, shipped_replies, LIBRARY_SIZE, rng)
        started = time.perf_counter()
        library = ReplyLibrary.load(library_path)
        load_seconds = time.perf_counter() - started
    generated = [library.get(key) for key in library.keys()]
    queries = [make_query(rng) for _ in range(SEARCH_QUERIES)]

    print(f"library: {len(library)} replies in {len(library.topics())} topics, loaded in {load_seconds:.2f} s")
    search_ms = timings_ms(lambda query: library.search(query), queries)
    baseline_ms = timings_ms(lambda query: naive_search(generated, query), queries[:BASELINE_QUERIES])
    report("search", search_ms, SEARCH_TARGET_MS)
    print(
        f"  baseline, naive WRatio scan of every reply's full text ({BASELINE_QUERIES} queries): "
        f"median {median(baseline_ms):.1f} ms -> search is {median(baseline_ms) / median(search_ms):.0f}x faster"
    )

    rules = default_check_rules()
    draft = make_draft()
    check_ms = timings_ms(lambda text: check_draft(text, rules, shipped), [draft] * CHECK_RUNS)
    parse_ms = timings_ms(lambda text: parse_tweet(text).weightedLength, [draft] * CHECK_RUNS)
    print(f"\ndraft: {len(draft)} characters, {weighted_length(draft)} as X counts them; shipped library")
    report("check_draft", check_ms, CHECK_TARGET_MS)
    print(
        f"  baseline, twitter-text parse_tweet alone on the same draft: median {median(parse_ms):.3f} ms "
        f"-> the whole check takes {median(check_ms) / median(parse_ms):.2f}x its time"
    )


# --- the generated library --------------------------------------------------------------


def write_library(folder: Path, shipped: list[Reply], size: int, rng: random.Random) -> None:
    folder.mkdir()
    by_topic: dict[str, list[dict]] = {}
    for number in range(size):
        original = shipped[number % len(shipped)]
        by_topic.setdefault(original.topic, []).append(variant(original, number, rng))
    for topic, replies in by_topic.items():
        document = {"topic": topic, "title": topic.title(), "replies": replies}
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000)
        (folder / f"{topic}.yaml").write_text(text, encoding="utf-8")


def variant(original: Reply, number: int, rng: random.Random) -> dict:
    version = rng.randint(115, 140)
    detail_index = rng.randrange(len(DETAILS["en-US"]))
    texts = {}
    for locale in LOCALES:
        detail = DETAILS[locale][detail_index].format(v=version)
        greeting = rng.choice(GREETINGS[locale])
        texts[locale] = varied_text(original, locale, greeting, detail, rng)
    return {
        "key": f"{original.key}-{number}",
        "title": f"{original.title} {DETAILS['en-US'][detail_index].format(v=version)}",
        "tags": [*original.tags, *rng.sample(EXTRA_TAGS, 2)],
        "article": original.article,
        "text": texts,
    }


def varied_text(original: Reply, locale: str, greeting: str, detail: str, rng: random.Random) -> str:
    """The text with a greeting and a detail when they fit, else with what fits."""
    text = original.texts[locale]
    # A variety may write the text longer (de-CH's "ss" for "ß"): leave room for the longest one.
    widening = max(weighted_length(original.texts[variety.name]) for variety in varieties_of(locale)) - weighted_length(text)
    candidates = [f"{greeting} {text} {detail}", f"{text} {detail}", f"{greeting} {text}", text]
    if rng.random() < 0.3:
        candidates.insert(0, f"{detail} {text}")
    return next(candidate for candidate in candidates if weighted_length(candidate) <= MAX_TEXT_LENGTH - widening)


# --- queries and drafts -----------------------------------------------------------------


def make_query(rng: random.Random) -> str:
    words = " ".join(rng.sample(QUERY_WORDS, rng.choice([1, 1, 2, 2, 3])))
    return with_typo(words, rng) if rng.random() < 0.5 else words


def with_typo(words: str, rng: random.Random) -> str:
    position = rng.randrange(len(words))
    kind = rng.choice(["drop", "double", "swap", "replace"])
    if kind == "drop":
        return words[:position] + words[position + 1 :]
    if kind == "double":
        return words[:position] + words[position] + words[position:]
    if kind == "swap" and position + 1 < len(words):
        return words[:position] + words[position + 1] + words[position] + words[position + 2 :]
    return words[:position] + rng.choice("aeiourst") + words[position + 1 :]


def make_draft() -> str:
    """A realistic draft of 280 weighted characters, with a long link to flag."""
    draft = (
        "@someone_user Sorry Firefox keeps crashing on you! Could you update it first "
        "(menu > Help > About Firefox) and then check your graphics drivers? If it still "
        "crashes, this guide helps: https://support.mozilla.org/kb/"
        "firefox-crashes-troubleshoot-prevent-and-get-help and tell us what you find."
    )
    for word in "Thanks for your patience, we're here to help and we will get back to you soon".split():
        if weighted_length(f"{draft} {word} #fxhelp") <= 280:
            draft = f"{draft} {word}"
    draft += " #fxhelp"
    while weighted_length(draft + "!") <= 280:
        draft += "!"
    return draft


def naive_search(replies: list[Reply], query: str, limit: int = 5) -> list[tuple[float, str]]:
    """What search would be without an index: score every reply's whole text, every time."""
    scored = []
    for reply in replies:
        text = " ".join([reply.key, reply.title, *reply.tags, *reply.texts.values()])
        scored.append((fuzz.WRatio(query, text, processor=utils.default_process), reply.key))
    return sorted(scored, reverse=True)[:limit]


# --- timing -----------------------------------------------------------------------------


def timings_ms(run: Callable[[str], object], inputs: list[str]) -> list[float]:
    timings = []
    for value in inputs:
        started = time.perf_counter_ns()
        run(value)
        timings.append((time.perf_counter_ns() - started) / 1e6)
    return timings


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(name: str, timings: list[float], target_ms: float) -> None:
    middle = median(timings)
    verdict = "PASS" if middle < target_ms else "FAIL"
    print(
        f"{name}: {len(timings)} runs, median {middle:.3f} ms, p99 {percentile(timings, 0.99):.3f} ms "
        f"(target: median < {target_ms:g} ms) {verdict}"
    )


if __name__ == "__main__":
    main()
