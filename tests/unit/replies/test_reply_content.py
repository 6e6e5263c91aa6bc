"""The shipped replies as the people who paste them and the people who read them get them: every text
resolved in every language variety, with Firefox's own labels, on a real article, with room to tailor,
and no two replies of one language opening the same way. Also that the checks behind this fail when
they should."""

from pathlib import Path

import pytest
import yaml

from bot.features.replies.library import ReplyLibrary, audit
from bot.features.replies.loading import LONGEST_HANDLE, ROOM_TO_TAILOR, ReplyLibraryError
from bot.features.replies.render import article_slug, render_reply
from bot.features.replies.ui_strings import REFERENCE, VARIETIES

SHIPPED = Path(__file__).resolve().parents[3] / "replies"
EVIDENCE = SHIPPED / "sources" / "kb-articles.yaml"
ARTICLE = "https://support.mozilla.org/kb/diagnose-firefox-issues-using-troubleshoot-mode"


@pytest.fixture(scope="module")
def library() -> ReplyLibrary:
    return ReplyLibrary.load(SHIPPED)


def documented_slugs() -> list[str]:
    return list(yaml.safe_load(EVIDENCE.read_text(encoding="utf-8"))["articles"])


def test_the_library_has_at_least_80_replies_in_four_languages(library):
    assert len(library) >= 80
    for key in library.keys():
        assert {"en-US", "es", "de", "fr"} <= set(library.get(key).texts), key


def test_every_reply_resolves_in_every_variety_and_leaves_room_to_tailor(library):
    for key in library.keys():
        reply = library.get(key)
        for variety in VARIETIES:
            text = reply.texts[variety]
            assert not REFERENCE.search(text) and "{" not in text, (key, variety, text)
            rendered = render_reply(reply, variety, LONGEST_HANDLE, reply.article)
            assert rendered.remaining >= ROOM_TO_TAILOR, (key, variety, rendered.weighted_length)


def test_every_article_is_in_the_evidence_file_and_no_two_openings_repeat(library):
    assert audit(library, documented_slugs()) == []


def test_the_evidence_file_lists_no_article_the_library_does_not_use(library):
    used = {article_slug(library.get(key).article) for key in library.keys()}
    assert set(documented_slugs()) == used


def test_labels_differ_by_variety_where_firefox_differs(library):
    clear_cache = library.get("clear-cache").texts
    assert "Ajustes > Privacidad & Seguridad" in clear_cache["es-ES"]
    assert "Ajustes > Privacidad y seguridad" in clear_cache["es-MX"]
    assert "Preferencias > Privacidad y seguridad" in clear_cache["es-AR"]
    assert clear_cache["es-419"] == clear_cache["es-MX"]
    assert clear_cache["es"] == clear_cache["es-ES"]
    assert "«Estricto»" in library.get("tracking-protection").texts["es-MX"]
    assert "«Estricta»" in library.get("tracking-protection").texts["es-AR"]
    assert "Inhalte mit DRM-Kopierschutz wiedergeben" in library.get("video-playback").texts["de"]
    assert "Lire le contenu protégé par des DRM" in library.get("video-playback").texts["fr"]


# --- the checks fail when they should -----------------------------------------------------------


def library_folder(tmp_path: Path, texts: dict[str, str], article: str = ARTICLE) -> Path:
    folder = tmp_path / "replies"
    folder.mkdir()
    (folder / "ui-strings").mkdir()
    for name in ("glossary.yaml", "products.yaml"):
        (folder / "ui-strings" / name).write_text((SHIPPED / "ui-strings" / name).read_text(encoding="utf-8"))
    replies = [{"key": f"reply-{number}", "title": "A reply", "tags": ["test"], "article": article, "text": text}
               for number, text in enumerate(texts)]
    (folder / "test.yaml").write_text(yaml.safe_dump({"topic": "test", "title": "Test", "replies": replies},
                                                     allow_unicode=True), encoding="utf-8")
    return folder


def in_all_languages(text: str) -> dict[str, str]:
    return {locale: text for locale in ("en-US", "es", "de", "fr")}


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ReplyLibraryError) as caught:
        ReplyLibrary.load(folder)
    return caught.value.problems


def test_an_unknown_ui_reference_is_refused_and_named(tmp_path):
    folder = library_folder(tmp_path, [in_all_languages("Open {ui:settings} > {ui:no-such-pane}. More:")])
    problems = problems_of(folder)
    assert len(problems) == 4
    assert problems[0] == ("replies/test.yaml: reply 'reply-0': field 'text.en-US': unknown UI string "
                           "{ui:no-such-pane}: not in ui-strings/glossary.yaml")


def test_a_label_a_variety_lacks_is_refused_naming_the_variety(tmp_path):
    # The stored es-CL copy of preferences.ftl has no sitedata-header (see the glossary's `missing`).
    texts = in_all_languages("In {ui:cookies-and-site-data}, click {ui:clear-data}. More:")
    [problem] = problems_of(library_folder(tmp_path, [texts]))
    assert problem == ("replies/test.yaml: reply 'reply-0': field 'text.es': UI string {ui:cookies-and-site-data} "
                       "has no es-CL value in ui-strings/glossary.yaml (needed for es-CL)")


def test_a_message_id_works_like_its_alias(tmp_path):
    texts = in_all_languages("Try {ui:appmenu-help-enter-troubleshoot-mode2.label}. More:")
    loaded = ReplyLibrary.load(library_folder(tmp_path, [texts]))
    assert loaded.get("reply-0").texts["es-MX"] == "Try Modo de resolución de problemas…. More:"


def test_a_text_over_the_limit_once_labels_are_filled_in_is_refused(tmp_path):
    # 186 typed characters, but the French label is far longer than {ui:ask-to-save-passwords} itself.
    text = "Tick {ui:ask-to-save-passwords} " + "and then check the list of sites again " * 4 + "More:"
    problems = problems_of(library_folder(tmp_path, [{**in_all_languages("Short. More:"), "fr": text}]))
    assert len(problems) == 1 and "field 'text.fr' is" in problems[0] and "in fr when rendered" in problems[0]


def test_a_text_that_leaves_less_than_20_characters_is_refused(tmp_path):
    text = "x" * 215 + " More:"  # 221 + 16 (@handle) + 23 (link) + 7 (#fxhelp) + 3 spaces = 270
    [problem] = problems_of(library_folder(tmp_path, [{**in_all_languages("Short. More:"), "de": text}]))
    assert problem == ("replies/test.yaml: reply 'reply-0': field 'text.de' is 270 characters in de when rendered "
                       "with a 16-character @handle, the link and #fxhelp, leaving 10 to tailor: keep 20 free (cut 10)")


def test_a_stray_brace_is_refused(tmp_path):
    [problem] = problems_of(library_folder(tmp_path, [{**in_all_languages("Short. More:"), "fr": "Ouvrez {ui:settings. Détails :"}]))
    assert "a stray '{'" in problem


def test_audit_flags_an_undocumented_article_and_repeated_openings(tmp_path):
    folder = library_folder(tmp_path, [in_all_languages("Let's find out what happened here. More:"),
                                       {**in_all_languages("Another text entirely. More:"),
                                        "de": "Let's find out what broke. Mehr:"}],
                            article="https://support.mozilla.org/kb/not-a-documented-article")
    problems = audit(ReplyLibrary.load(folder), documented_slugs())
    assert problems == [
        "reply 'reply-0': article 'https://support.mozilla.org/kb/not-a-documented-article' has no entry in the "
        "slug evidence file",
        "reply 'reply-1': article 'https://support.mozilla.org/kb/not-a-documented-article' has no entry in the "
        "slug evidence file",
        "de: 'reply-0' and 'reply-1' both open with 'let find out what'",
    ]


def test_folders_inside_the_library_are_data_not_topics(tmp_path):
    folder = library_folder(tmp_path, [in_all_languages("Short. More:")])
    (folder / "sources").mkdir()
    (folder / "sources" / "notes.yaml").write_text("not: [a, topic")
    assert ReplyLibrary.load(folder).keys() == ["reply-0"]


def test_a_pasted_text_of_any_variety_is_recognised_as_that_reply(library):
    for key in library.keys():
        for variety, text in library.get(key).texts.items():
            found = library.near_copy(f"@someone {text} https://mzl.la/x #fxhelp")
            assert found is not None and found.key == key, (key, variety)
