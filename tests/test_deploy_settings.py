"""Deployment settings come from the environment, and with the values README's "Deploying"
gives, Django's deployment check has nothing to say."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# README, "Deploying": the values a deployment behind nginx with TLS sets.
PRODUCTION = {
    "SECRET_KEY": "x7Lq0-9vTt2kPz3rW8mN4sYc6Gh1Jf5Db0Ae7Ui2Oo9Kl3Zx8Cv6Bn4Mq1Wr5Ty0Pu",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "crew.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://crew.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def _run(
    args: list[str], extra: dict[str, str], drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    # The browser tests allow Django's ORM beside Playwright's event loop in this process; a
    # deployment never sets that, so the checked process does not inherit it.
    drop = (*drop, "DJANGO_ALLOW_ASYNC_UNSAFE")
    environ = {name: value for name, value in os.environ.items() if name not in drop}
    environ.update(extra)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )


def test_check_deploy_is_clean_with_the_production_settings() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_names_what_the_defaults_leave_open() -> None:
    result = _run(["manage.py", "check", "--deploy"], {}, drop=tuple(PRODUCTION))
    for warning in ("W004", "W008", "W012", "W016", "W018"):
        assert f"security.{warning}" in result.stdout + result.stderr


_READ = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: getattr(settings, name) for name in ["
    "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
    "'SECURE_HSTS_PRELOAD', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_PROXY_SSL_HEADER']}))"
)


def _settings_with(extra: dict[str, str]) -> dict[str, object]:
    result = _run(["-c", _READ], {"DJANGO_SETTINGS_MODULE": "config.settings", **extra})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_each_setting_is_read_from_the_environment() -> None:
    assert _settings_with(PRODUCTION) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_with_nothing_in_front_the_forwarded_scheme_is_not_believed() -> None:
    assert _settings_with({"SECURE_PROXY_SSL_HEADER": ""})["SECURE_PROXY_SSL_HEADER"] is None
