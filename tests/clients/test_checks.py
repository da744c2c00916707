"""Start-up checks: a geocoder that cannot be set up is reported by `manage.py check` (which
every command, `serve` included, runs first), not by a 500 on the first site created."""

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


@pytest.mark.parametrize(
    "settings_changes",
    [
        {"GEOCODER": "bogus"},
        {"GEOCODER": "nominatim", "NOMINATIM_DOMAIN": "http://127.0.0.1:8399"},
    ],
    ids=["unknown geocoder", "scheme in the domain"],
)
def test_a_geocoder_that_cannot_be_set_up_stops_the_checks(
    settings: Any, settings_changes: dict[str, str]
) -> None:
    for name, value in settings_changes.items():
        setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=r"clients\.E001"):
        call_command("check")


def test_a_self_hosted_nominatim_passes(settings: Any) -> None:
    settings.GEOCODER = "nominatim"
    settings.NOMINATIM_DOMAIN = "127.0.0.1:8399"
    settings.NOMINATIM_SCHEME = "http"
    call_command("check")
