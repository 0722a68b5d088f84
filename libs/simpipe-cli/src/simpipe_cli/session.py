"""The options every command shares, and the clients made from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from simpipe_cli.config import Settings, settings
from simpipe_cli.output import emit_json, out

if TYPE_CHECKING:
    from simpipe_client import AsyncSimpipe, Simpipe


@dataclass
class Session:
    url: str | None
    token: str | None
    json: bool

    def answer(self, value: Any, human: str) -> None:
        """`value` as JSON with --json, else the line `human`, as it is (names
        and keys may hold brackets Rich would take for markup)."""
        if self.json:
            emit_json(value)
        else:
            out.print(human, markup=False)

    def settings(self) -> Settings:
        return settings(self.url, self.token)

    def client(self) -> Simpipe:
        from simpipe_client import Simpipe

        found = self.settings()
        return Simpipe(found.url, found.token)

    def async_client(self) -> AsyncSimpipe:
        from simpipe_client import AsyncSimpipe

        found = self.settings()
        return AsyncSimpipe(found.url, found.token)


def session(ctx: typer.Context) -> Session:
    found = ctx.find_object(Session)
    if found is None:
        raise RuntimeError("the app's callback sets the session")
    return found
