"""Settings that are numbers must be real, finite numbers: `inf` seconds is not a cooldown."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Infinity", "NaN", "1e999"])
@pytest.mark.parametrize("name", ["PMBOT_COOLDOWN_SECONDS", "PMBOT_AUTO_RELOAD_DELAY"])
def test_non_finite_numbers_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, dotenv=None)
    assert f"{name}={value!r}" in str(caught.value)


def test_finite_numbers_still_work() -> None:
    settings = load_settings({"PMBOT_COOLDOWN_SECONDS": "2.5", "PMBOT_AUTO_RELOAD_DELAY": "0.1"}, dotenv=None)
    assert (settings.cooldown_seconds, settings.auto_reload_delay) == (2.5, 0.1)
