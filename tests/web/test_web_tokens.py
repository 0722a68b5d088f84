"""The API tokens page of our web GUI in Debian's chromium against the stack:
a token created in the page is shown once, listed as the API lists it, signs
a fresh browser in as its owner, is revoked in the page and then refused;
the gateway's refusals are shown readably. Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

LIST = "{ accessTokens { id name createdAt expiresAt } }"


async def listed(dev: AsyncSimpipe) -> dict[str, dict[str, str]]:
    """The caller's tokens by name."""
    return {t["name"]: t for t in (await dev.graphql(LIST))["accessTokens"]}


async def refused_or_projects(browser: Browser, web: WebGui, token: str) -> Page:
    """A fresh browser (nothing shared with the test's page) signing in with `token`."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    fresh = await context.new_page()
    await web.sign_in(fresh, token)
    return fresh


async def test_a_token_is_created_shown_once_used_and_revoked(
    page: Page, browser: Browser, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    name = f"web test {uuid.uuid4().hex[:8]}"
    try:
        await created_used_and_revoked(page, browser, web, stack, dev, name)
    finally:
        # A failed run's token must not count against local-dev's quota.
        left = (await listed(dev)).get(name)
        if left:
            await dev.graphql(
                "mutation($id: String!) { revokeAccessToken(id: $id) }", id=left["id"]
            )


async def created_used_and_revoked(
    page: Page, browser: Browser, web: WebGui, stack: Stack, dev: AsyncSimpipe, name: str
) -> None:
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    await expect(page).to_have_url(f"{web.url}/tokens")

    # A lifetime above the gateway's limit: its refusal, worded by the gateway.
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Valid for days").fill("100000")
    await page.get_by_role("button", name="Create token").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The token could not be created", timeout=web.page_ms)
    await expect(alert).to_contain_text("expiresInDays must be between 1 and")
    assert name not in await listed(dev)

    await page.get_by_label("Valid for days").fill("3")
    asked = datetime.now(UTC)
    await page.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("The new token")
    await expect(shown).to_be_visible(timeout=web.page_ms)
    secret = await shown.input_value()
    assert secret
    tokens = await listed(dev)
    assert name in tokens, tokens
    record = tokens[name]
    expires = datetime.fromisoformat(record["expiresAt"])
    assert abs(expires - (asked + timedelta(days=3))) < timedelta(minutes=5)
    row = page.locator(f'tr[data-token="{record["id"]}"]')
    await expect(row.get_by_role("cell").nth(0)).to_have_text(name)
    await web.shot(page, "tokens-created")
    await web.assert_accessible(page)

    # The secret works, from a browser that shares nothing with this one.
    other = await refused_or_projects(browser, web, secret)
    await expect(other).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await expect(other.get_by_role("banner")).to_contain_text("local-dev")
    await other.context.close()

    # Shown once: gone from the page once dismissed, and after a reload.
    await page.get_by_role("button", name="Done").click()
    await expect(shown).to_have_count(0)
    await page.reload()
    await expect(row).to_be_visible(timeout=web.page_ms)
    assert secret not in await page.content()

    # Revoked in the page (after a confirmation), then refused.
    await row.get_by_role("button", name="Revoke…").click()
    dialog = page.get_by_role("alertdialog")
    await expect(dialog).to_contain_text(name)
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    assert name in await listed(dev)
    await row.get_by_role("button", name="Revoke…").click()
    await dialog.get_by_role("button", name="Revoke the token").click()
    await expect(row).to_have_count(0, timeout=web.page_ms)
    assert name not in await listed(dev)
    other = await refused_or_projects(browser, web, secret)
    await expect(other.get_by_role("alert")).to_contain_text(
        "The gateway refused this token", timeout=web.page_ms
    )
    await expect(other).to_have_url(re.compile(r"/login"))
    await other.context.close()

    # A phone's width, dark: still usable.
    await page.get_by_role("button", name="Dark theme").click()
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.get_by_role("button", name="Create token")).to_be_visible()
    await web.shot(page, "tokens-phone-dark")
    await web.assert_accessible(page)
