"""shared.settings: one way to read a section of config.yml into a service's settings."""
from dataclasses import dataclass
from typing import ClassVar

import pytest

from shared.settings import describe, load, read, setting


@dataclass(frozen=True)
class Example:
    SECTION: ClassVar[str] = "EXAMPLE"
    max_tries: int = setting(3, "officers tried")
    poll: float = setting(0.5)
    secure: bool = setting(False)
    hidden: tuple = setting(("domestic_violence",))
    ack: dict = setting({"P1": 120.0, "P2": 300.0})
    jurisdiction: str = setting("siaga", key="JURISDICTION_ID")


def test_an_unset_variable_keeps_the_one_default():
    assert load(Example, {"MAX_TRIES": "", "POLL": None}) == Example()
    assert load(Example, None) == Example()


@pytest.mark.parametrize("key, raw, field, expected", [
    ("MAX_TRIES", "5", "max_tries", 5),
    ("POLL", "2", "poll", 2.0),
    ("SECURE", "true", "secure", True),
    ("SECURE", "0", "secure", False),
    ("HIDDEN", "a, b", "hidden", ("a", "b")),
    ("HIDDEN", ["a"], "hidden", ("a",)),
    ("JURISDICTION_ID", "jakarta", "jurisdiction", "jakarta"),
])
def test_values_from_the_environment_are_parsed_like_their_default(key, raw, field, expected):
    assert getattr(load(Example, {key: raw}), field) == expected


def test_a_mapping_setting_replaces_only_the_keys_given():
    assert load(Example, {"ACK": {"P1": "60", "P2": ""}}).ack == {"P1": 60.0, "P2": 300.0}


def test_a_bad_value_names_the_setting():
    with pytest.raises(ValueError, match=r"EXAMPLE\.MAX_TRIES='many'"):
        load(Example, {"MAX_TRIES": "many"})


def test_read_takes_the_section_of_a_whole_config():
    assert read(Example, {"EXAMPLE": {"MAX_TRIES": 4}}).max_tries == 4
    assert ("MAX_TRIES", 3, "officers tried") in describe(Example)
