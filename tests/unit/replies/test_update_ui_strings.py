"""scripts/update_ui_strings.py on a small checkout made here: what it writes is what a reply resolves."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "update_ui_strings.py"
spec = importlib.util.spec_from_file_location("update_ui_strings", SCRIPT)
update_ui_strings = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = update_ui_strings
spec.loader.exec_module(update_ui_strings)

BRAND = "-brand-short-name = Firefox\n-brand-shorter-name = Firefox\n"
SOURCE_APPMENU = """\
appmenuitem-help =
    .label = Help
appmenu-about =
    .label = About { -brand-shorter-name }
    .accesskey = A
"""
WANTED = """\
help: {file: browser/browser/appmenu.ftl, id: appmenuitem-help, attribute: label,
       fallback: {file: browser/browser/menubar.ftl, id: menu-help, attribute: label}}
about: {file: browser/browser/appmenu.ftl, id: [appmenu-about2, appmenu-about], attribute: label}
"""


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_it_writes_each_value_with_its_file_id_and_commit(tmp_path):
    source, l10n = tmp_path / "source", tmp_path / "l10n"
    write(source, "browser/branding/official/brand.ftl", BRAND)
    write(source, "browser/browser/appmenu.ftl", SOURCE_APPMENU)
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    subprocess.run(["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@example.org", "add", "."],
                   check=True)
    subprocess.run(["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "commit", "-q", "-m", "strings"], check=True)
    commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    # de: a current appmenu; es-ES: an old one without appmenuitem-help, whose menubar.ftl has it
    write(l10n, "de/browser/browser/appmenu.ftl",
          "appmenuitem-help =\n    .label = Hilfe\nappmenu-about =\n    .label = Über { -brand-shorter-name }\n")
    write(l10n, "es-ES/browser/browser/appmenu.ftl", "appmenu-about =\n    .label = Acerca de { -brand-shorter-name }\n")
    write(l10n, "es-ES/browser/browser/menubar.ftl", "menu-help =\n    .label = Ayuda\n    .accesskey = u\n")
    commits = tmp_path / "commits.tsv"
    commits.write_text("de/browser/browser/appmenu.ftl\taaaa\nes-ES/browser/browser/appmenu.ftl\tbbbb\n"
                       "es-ES/browser/browser/menubar.ftl\tcccc\n")
    wanted, out = tmp_path / "wanted.yaml", tmp_path / "glossary.yaml"
    wanted.write_text(WANTED)

    status = update_ui_strings.main(["--source", str(source), "--l10n", str(l10n), "--commits", str(commits),
                                     "--locales", "de", "es-ES", "--wanted", str(wanted), "--out", str(out)])

    assert status == 0
    glossary = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert glossary["strings"]["about"]["en-US"] == {
        "value": "About Firefox", "id": "appmenu-about.label", "file": "browser/browser/appmenu.ftl", "commit": commit}
    assert glossary["strings"]["about"]["de"]["value"] == "Über Firefox"
    assert glossary["strings"]["help"]["es-ES"] == {
        "value": "Ayuda", "id": "menu-help.label", "file": "browser/browser/menubar.ftl", "commit": "cccc"}
    assert glossary["missing"] == []


def test_a_string_no_locale_file_has_is_listed_as_missing(tmp_path):
    source, l10n = tmp_path / "source", tmp_path / "l10n"
    write(source, "browser/branding/official/brand.ftl", BRAND)
    write(source, "browser/browser/appmenu.ftl", SOURCE_APPMENU)
    write(l10n, "fr/browser/browser/appmenu.ftl", "appmenu-about =\n    .label = À propos de { -brand-shorter-name }\n")
    commits = tmp_path / "commits.tsv"
    commits.write_text("browser/browser/appmenu.ftl\tsrc1\nfr/browser/browser/appmenu.ftl\tfr1\n")
    wanted = tmp_path / "wanted.yaml"
    wanted.write_text(WANTED)
    source_checkout = update_ui_strings.Checkout(source, "source", update_ui_strings.read_commits(commits))
    l10n_checkout = update_ui_strings.Checkout(l10n, "l10n", update_ui_strings.read_commits(commits))

    glossary = update_ui_strings.build_glossary(update_ui_strings.read_wanted(wanted), source_checkout,
                                                l10n_checkout, ("fr",))

    assert glossary["missing"] == ["help (fr)"]
    assert glossary["strings"]["about"]["fr"]["commit"] == "fr1"
