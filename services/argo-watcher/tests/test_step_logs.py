from datetime import UTC, datetime

from simpipe_argo_watcher.logs import LogLine, select, timestamped_lines

LOG = """2026-11-25T14:16:28.100000000Z starting
2026-11-25T14:16:29.000000000Z reading input.csv
2026-11-25T14:16:30.500000000Z wrote 3 rows
2026-11-25T14:16:31Z done
not a timestamped line"""


def test_timestamped_lines_split_time_and_text() -> None:
    lines = timestamped_lines(LOG)
    assert lines[0] == LogLine(datetime(2026, 11, 25, 14, 16, 28, 100000, UTC), "starting")
    assert lines[3].text == "done"
    assert lines[4] == LogLine(None, "not a timestamped line")


def test_select_applies_since_grep_and_tail_in_that_order() -> None:
    lines = timestamped_lines(LOG)
    assert select(lines, None, "", 0) == [
        "starting",
        "reading input.csv",
        "wrote 3 rows",
        "done",
        "not a timestamped line",
    ]
    assert select(lines, None, "", 2) == ["done", "not a timestamped line"]
    since = datetime(2026, 11, 25, 14, 16, 29, tzinfo=UTC)
    assert select(lines, since, "", 0)[0] == "reading input.csv"
    # grep is plain text, not a regex: "." matches only a dot.
    assert select(lines, None, ".", 0) == ["reading input.csv"]
    assert select(lines, None, "o", 1) == ["not a timestamped line"]
    assert select(lines, since, "o", 2) == ["done", "not a timestamped line"]


def test_a_followed_log_gives_whole_lines_whatever_its_chunks_cut() -> None:
    from simpipe_argo_watcher.logs import LineSplitter

    text = "première ligne\nsecond\n\nlast without newline".encode()
    for size in (1, 2, 3, 7, len(text)):
        splitter = LineSplitter()
        lines: list[str] = []
        for start in range(0, len(text), size):
            lines += splitter.feed(text[start : start + size])
        lines += splitter.rest()
        assert lines == ["première ligne", "second", "", "last without newline"], size
    ended = LineSplitter()
    assert ended.feed(b"done\n") == ["done"]
    assert ended.rest() == []
