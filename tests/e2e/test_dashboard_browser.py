"""The dashboard in a real browser: headless Chromium follows a sign-in link clicked on another site
(as from a Matrix client), lands on the dashboard, and the rendered DOM holds the figures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.demo.local_synapse import free_port
from bot.ops.dashboard.render import dashboard_json
from tests.e2e.browser import MODERATOR, chromium, served_dashboard


async def _chat_page(link: str) -> tuple[web.AppRunner, str]:
    """A page on another site (localhost is not 127.0.0.1) holding the link, like a Matrix client."""
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f'<!doctype html><a id="link" href="{link}">{link}</a>', content_type="text/html")
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "localhost", port).start()
    return runner, f"http://localhost:{port}/"


def _wait_for(driver: Any, css: str, timeout: float = 15) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


async def test_chromium_signs_in_from_a_link_on_another_site_and_renders_the_dashboard(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    async with served_dashboard(tmp_path) as site:
        link = await site.signin.new_link(MODERATOR)
        chat, chat_url = await _chat_page(link)
        expected = json.loads(dashboard_json(await site.builder.build()))
        try:
            with chromium() as driver:
                def browse() -> dict:
                    driver.get(base_url := site.base + "/dashboard")
                    assert "Sign in through Matrix" in driver.find_element(By.TAG_NAME, "h1").text
                    assert not driver.find_elements(By.TAG_NAME, "svg")
                    driver.get(chat_url)
                    driver.find_element(By.ID, "link").click()
                    _wait_for(driver, "#card-escalations")
                    assert driver.current_url == base_url
                    cookies = {c["name"]: c for c in driver.get_cookies()}
                    seen = {
                        "cookie": cookies["fxhelp_dashboard"],
                        "svgs": [(s.get_attribute("role"), s.find_element(By.TAG_NAME, "title").get_attribute("textContent"))
                                 for s in driver.find_elements(By.CSS_SELECTOR, "svg.chart")],
                        "lines": len(driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline")),
                        "bars": len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")),
                        "escalation_card": driver.find_element(By.CSS_SELECTOR, "#card-escalations .value").text,
                        "consult_share": driver.find_element(By.CSS_SELECTOR, "#card-share-consults .value").text,
                        "escalation_rows": len(driver.find_elements(By.CSS_SELECTOR, "#escalations tbody tr")),
                        "queue_links": [a.get_attribute("href") for a in
                                        driver.find_elements(By.CSS_SELECTOR, "#queue tbody a")],
                        "chart_box": driver.execute_script(
                            "const r = document.querySelector('svg.chart').getBoundingClientRect();"
                            "return [r.width, r.height];"),
                    }
                    driver.set_window_size(390, 844)   # a phone
                    seen["phone_overflow"] = driver.execute_script(
                        "return document.documentElement.scrollWidth - window.innerWidth;")
                    seen["phone_chart_width"] = driver.execute_script(
                        "return document.querySelector('svg.chart').getBoundingClientRect().width;")
                    driver.get(link)   # the same link again
                    seen["second_use"] = driver.find_element(By.TAG_NAME, "h1").text
                    driver.save_screenshot(str(tmp_path / "phone.png"))
                    return seen

                seen = await asyncio.get_running_loop().run_in_executor(None, browse)
        finally:
            await chat.cleanup()

    cookie = seen["cookie"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["secure"] is False
    assert seen["svgs"] == [("img", "Answered within 72h, by week"), ("img", "Median time to first answer, by week"),
                            ("img", "Escalations by reason, by week")]
    assert seen["lines"] >= 4 and seen["bars"] > 0
    assert int(seen["escalation_card"]) == expected["cards"]["open_escalations"] > 0
    assert seen["escalation_rows"] == len(expected["escalations"])
    assert seen["consult_share"] == f"{expected['last_days']['consults']['share_in_window']:.0%}"
    assert seen["queue_links"] == [item["url"] for item in expected["queue"]]
    width, height = seen["chart_box"]
    assert width > 300 and height > 100
    assert seen["phone_overflow"] <= 0 and 250 < seen["phone_chart_width"] < 390
    assert seen["second_use"] == "This sign-in link does not work"
