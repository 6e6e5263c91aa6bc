"""pyproject.toml holds the project's metadata; this adds what it cannot say declaratively.

The reply library is edited at the top of the source tree (replies/, where its editors and
scripts/update_ui_strings.py work) and ships inside the package as ``bot.shipped_replies``, found at
run time with importlib.resources. Mapping a package to another folder means listing the packages,
so they are found here, whatever the layout: every folder under bot/, commands/ and replies/. Data
folders (bot/storage/migrations, replies/ui-strings, …) count as namespace packages, so their files
are package data without setuptools' "ambiguous configuration" warnings.
"""

from setuptools import find_namespace_packages, setup


def folders(top: str) -> list[str]:
    return find_namespace_packages(include=[top, f"{top}.*"], exclude=["*__pycache__"])


setup(
    packages=[*folders("bot"), *folders("commands"),
              *("bot.shipped_replies" + name.removeprefix("replies") for name in folders("replies"))],
    package_dir={"bot.shipped_replies": "replies"},
)
