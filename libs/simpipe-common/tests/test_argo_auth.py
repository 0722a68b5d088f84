import os
from pathlib import Path

import pytest

from simpipe_common.argo_auth import ArgoToken
from simpipe_common.errors import UnavailableError


def _replace(path: Path, token: str) -> None:
    """As the local stack writes a new token: a new file renamed into place."""
    new = path.with_suffix(".new")
    new.write_text(token + "\n")
    os.replace(new, path)


def test_without_a_file_no_header_is_sent() -> None:
    token = ArgoToken(None)
    assert token.header() is None
    assert token.replaced(None) is False


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "argo.token"
    _replace(path, "first")
    token = ArgoToken(path)
    assert token.header() == "Bearer first"
    _replace(path, "second")
    assert token.header() == "Bearer second"


def test_a_refused_token_is_worth_a_retry_only_once_replaced(tmp_path: Path) -> None:
    path = tmp_path / "argo.token"
    _replace(path, "first")
    token = ArgoToken(path)
    used = token.header()
    assert used == "Bearer first"
    assert token.replaced(used) is False
    path.write_text("second\n")
    assert token.replaced(used) is True
    assert token.header() == "Bearer second"
    # A request that sent the old token while another read the new one
    # still gets its retry.
    assert token.replaced(used) is True
    assert token.replaced(token.header()) is False


@pytest.mark.parametrize("content", [None, "  \n"])
def test_a_missing_or_empty_file_is_unavailable(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "argo.token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UnavailableError, match=str(path)):
        ArgoToken(path).header()
