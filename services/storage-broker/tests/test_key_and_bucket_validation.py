import pytest

from simpipe_common.errors import InvalidInputError
from simpipe_storage_broker import validation

BAD_KEYS = {
    "empty": "",
    "traversal": "../x",
    "inner traversal": "a/../../x",
    "trailing traversal": "a/..",
    "dot segment": "a/./b",
    "empty segment": "a//b",
    "absolute": "/a",
    "NUL": "a\x00",
    "tab": "a\tb",
    "DEL": "\x7f",
    "C1 control": "a\x85b",
    "bidi override": "a\u202eb",
    "zero-width joiner": "a\u200db",
    "backslash": "a\\b",
    "question mark": "a?b",
    "hash": "a#b",
    "no-break space": "a\u00a0b",
    "1025 bytes": "k" * 1025,
    "1026 bytes of UTF-8": "é" * 513,
}
GOOD_KEYS = [
    "a",
    "inputs/data (1).csv",
    "folder/",
    "ünïcode/日本語.txt",
    "safe!-_.*'()&$@=;:+, chars",
    "..hidden-ish/x..y",
    "k" * 1024,
]


@pytest.mark.parametrize("problem", BAD_KEYS)
def test_bad_keys_are_refused_with_the_problem_named(problem: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validation.key(BAD_KEYS[problem])
    assert caught.value.message.startswith("key ")


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_keys_pass_unchanged(key: str) -> None:
    assert validation.key(key) == key


def test_long_keys_are_shown_shortened() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validation.key("x" * 2000, "keys[3]")
    assert caught.value.message.startswith("keys[3] 'xxx")
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Upper", "under_score", "-start", "end-", "a..b", "a.-b", "10.0.0.1",
     "xn--punycode", "sthree-x", "x-s3alias", "x--ol-s3", "sp ace"],
)  # fmt: skip
def test_bad_bucket_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError):
        validation.bucket_name(name)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my-bucket.v2", "argo-artifacts", "1.2.3"])
def test_good_bucket_names_pass(name: str) -> None:
    assert validation.bucket_name(name) == name


@pytest.mark.parametrize("number", [0, 10_001])
def test_part_numbers_are_bounded(number: int) -> None:
    with pytest.raises(InvalidInputError):
        validation.part_number(number)
