import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from simpipe_common.logs import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
def test_structlog_and_stdlib_records_become_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("demo", "info")
    structlog.get_logger("demo.module").info("hello", answer=42)
    logging.getLogger("uvicorn.error").warning("from the stdlib")
    logging.getLogger("quiet").debug("below the level")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert [line["event"] for line in lines] == ["hello", "from the stdlib"]
    assert lines[0] | {"timestamp": None} == {
        "event": "hello",
        "answer": 42,
        "level": "info",
        "logger": "demo.module",
        "service": "demo",
        "timestamp": None,
    }
    assert lines[1]["level"] == "warning"
    assert lines[1]["service"] == "demo"
