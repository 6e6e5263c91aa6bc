"""Regenerate docs/dashboard.png: the dashboard over eight weeks of generated history, in headless
Debian Chromium (installed with apt-get when missing).

    .venv/bin/python scripts/dashboard_screenshot.py [--out docs/dashboard.png] [--width 1200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.e2e.browser import MODERATOR, chromium, served_dashboard  # noqa: E402 - after the path


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "dashboard.png")
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        async with served_dashboard(Path(folder)) as site:
            link = await site.signin.new_link(MODERATOR)

            def shoot() -> None:
                with chromium(args.width, 900) as driver:
                    driver.get(link)
                    driver.get(site.base + "/dashboard")
                    for _ in range(3):  # the window's height includes what is not page; settle on the page's
                        height = driver.execute_script("return document.documentElement.scrollHeight;")
                        inner = driver.execute_script("return window.innerHeight;")
                        size = driver.get_window_size()
                        driver.set_window_size(args.width, size["height"] + height - inner)
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    driver.save_screenshot(str(args.out))

            await asyncio.get_running_loop().run_in_executor(None, shoot)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
