from simpipe_common.ownership import (
    LABEL_MANAGED,
    LABEL_OWNER_HASH,
    LABEL_PROJECT,
    owner_hash,
    owner_selector,
)


def test_an_owner_selector_narrows_to_a_project_only_when_given_one() -> None:
    owner = f"{LABEL_MANAGED}=true,{LABEL_OWNER_HASH}={owner_hash('alice@example.org')}"
    assert owner_selector("alice@example.org") == owner
    assert owner_selector("alice@example.org", "p1") == f"{owner},{LABEL_PROJECT}=p1"
    # "" is a project id too: the objects outside any project.
    assert owner_selector("alice@example.org", "") == f"{owner},{LABEL_PROJECT}="
    assert owner_hash("alice@example.org") != owner_hash("bob@example.org")
