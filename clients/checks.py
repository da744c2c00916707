"""System checks (`manage.py check`, and every command at start-up) for the clients app's
settings: a geocoder that cannot be built fails at start, not on the first site created."""

from typing import Any

from django.core.checks import CheckMessage, Error, register

from .services import _geocoder


@register("settings")
def geocoder_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        _geocoder()
    except ValueError as exc:
        return [
            Error(
                f"The geocoder cannot be set up: {exc}",
                hint="GEOCODER is 'offline' or 'nominatim'; NOMINATIM_DOMAIN is a host[:port] "
                "without a scheme (the scheme goes in NOMINATIM_SCHEME).",
                id="clients.E001",
            )
        ]
    return []
