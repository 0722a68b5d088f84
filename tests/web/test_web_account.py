"""OpenID Connect sign-in of our web GUI in Debian's chromium against the
stack's own provider (oidc-provider-mock): through the provider's form to
the projects page as `oidc:<subject>`, a declined sign-in, and answers that
belong to no sign-in of the tab (state mismatch), each said readably.
Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.oidc import Oidc
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui


async def to_the_provider(page: Page, web: WebGui, stack: Stack) -> None:
    await page.goto(f"{web.url}/login?next=%2Ftokens")
    await page.get_by_role("button", name="Sign in with OpenID Connect").click()
    await expect(page).to_have_url(
        re.compile(re.escape(Oidc().issuer(stack)) + r"/oauth2/authorize\?"), timeout=web.page_ms
    )


async def test_a_user_signs_in_at_the_provider_and_acts_as_its_subject(
    page: Page, web: WebGui, stack: Stack, endpoints: dict[str, str]
) -> None:
    subject = f"web-{uuid.uuid4().hex[:8]}"
    await page.goto(f"{web.url}/login")
    await expect(page.get_by_role("button", name="Sign in with OpenID Connect")).to_be_visible(
        timeout=web.page_ms
    )
    await web.shot(page, "login-oidc")
    await web.assert_accessible(page)
    await to_the_provider(page, web, stack)
    # What the page asked the provider for: a code, with PKCE.
    asked = page.url
    assert "code_challenge_method=S256" in asked
    assert "response_type=code" in asked
    await page.get_by_placeholder("sub").fill(subject)
    await page.get_by_role("button", name="Authorize").click()

    # Back on the app, where the user was going, signed in as the subject.
    await expect(page).to_have_url(f"{web.url}/tokens", timeout=web.page_ms)
    await expect(page.get_by_role("banner")).to_contain_text(f"oidc:{subject}")
    # The code is spent: the callback is not in the tab's history.
    assert "/login/callback" not in page.url
    token = await page.evaluate("sessionStorage.getItem('simpipe.token')")
    assert token, "signed in without a credential"
    assert token.count(".") == 2, "an ID token is the session's credential"
    gql = AsyncSimpipe(endpoints["graphql"], token)
    try:
        assert (await gql.graphql("{ username }"))["username"] == f"oidc:{subject}"
    finally:
        await gql.aclose()
    await web.shot(page, "signed-in-oidc")

    # A code cannot be traded twice, and the page says why.
    await page.goto(f"{web.url}/login/callback?code=spent&state=whatever")
    await expect(page.get_by_role("alert")).to_contain_text(
        "No sign-in was started in this tab", timeout=web.page_ms
    )


async def test_a_declined_or_foreign_answer_is_refused_readably(
    page: Page, web: WebGui, stack: Stack
) -> None:
    await to_the_provider(page, web, stack)
    await page.get_by_role("button", name="Deny").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("You declined the sign-in", timeout=web.page_ms)
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None
    await web.shot(page, "login-oidc-declined")
    await web.assert_accessible(page)

    # An answer carrying another sign-in's state (a forged link) is not traded.
    await to_the_provider(page, web, stack)
    await page.goto(f"{web.url}/login/callback?code=forged&state=not-this-tabs")
    await expect(page.get_by_role("alert")).to_contain_text("state mismatch", timeout=web.page_ms)
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None
    await page.get_by_role("link", name="Back to sign-in").click()
    await expect(page).to_have_url(f"{web.url}/login")


async def test_a_code_the_provider_never_issued_is_refused_by_the_gateway(
    page: Page, web: WebGui, stack: Stack
) -> None:
    await to_the_provider(page, web, stack)
    # The state this tab remembers is the one it sent the provider.
    [state] = parse_qs(urlsplit(page.url).query)["state"]
    await page.goto(f"{web.url}/login/callback?code=made-up-code&state={state}")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("did not complete", timeout=web.page_ms)
    await expect(alert).to_contain_text("the OpenID provider refused the sign-in")
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None
