"""What the browser tests of our web GUI share: where it is served, where
their screenshots go, signing in and the accessibility check. The tests
drive Debian's chromium through Playwright (tests/conftest.py's `browser`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simpipe_devstack.layout import WEB_BUILD

if TYPE_CHECKING:
    from playwright.async_api import Page

# axe-core, installed with the app's dev tools (services/web/package.json).
AXE = WEB_BUILD.parent / "node_modules" / "axe-core" / "axe.min.js"


def js_number(value: float) -> str:
    """A number as the page's JavaScript writes it into an attribute
    (String(3.0) is "3", where Python's str gives "3.0")."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class WebGui:
    url: str
    shots: Path
    # Conditions a page reaches within these, or the test fails.
    page_ms: int = 30_000
    run_ms: int = 240_000

    async def sign_in(self, page: Page, token: str) -> None:
        await page.goto(f"{self.url}/login")
        await page.get_by_label("API token").fill(token)
        await page.get_by_role("button", name="Sign in", exact=True).click()

    async def shot(self, page: Page, name: str) -> None:
        """A full-page screenshot kept as the test's artefact."""
        await page.screenshot(path=self.shots / f"{name}.png", full_page=True)

    async def assert_fits(self, page: Page, width: int) -> None:
        """The page is no wider than the viewport (`width`): wide tables
        scroll in their frames, nothing else sticks out."""
        out: list[str] = await page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
                .filter((e) => !e.closest('.table-frame'))
                .filter((e) => e.getBoundingClientRect().right > width + 1)
                .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)
                .slice(0, 8)""",
            width,
        )
        assert not out, f"{page.url}: wider than {width} px: {out}"

    async def assert_accessible(self, page: Page) -> None:
        """axe-core's rules on the page as it is now: no serious or critical violation."""
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated by the browser's debugging protocol: the page's own
            # Content-Security-Policy forbids adding an inline script.
            await page.evaluate(AXE.read_text(encoding="utf-8"))
        violations: list[dict[str, Any]] = await page.evaluate(
            "async () => (await axe.run(document)).violations"
        )
        grave = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        assert not grave, f"{page.url}: {grave}"
