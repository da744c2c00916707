"""`manage.py check_translations`: the Russian console is complete, or this says what is not.

`make lint` runs it. It regenerates locale/ru/LC_MESSAGES/django.po with makemessages (the
same options as always, so an up-to-date catalogue comes out unchanged) and fails when:
- the catalogue changed: a page or form gained or lost a text since it was last translated;
- an entry is untranslated or fuzzy, lacks a plural form, or lost or invented a placeholder;
- django.mo does not hold what the .po says (run `manage.py compilemessages`).
A changed catalogue is left in place with its new entries, ready to be translated.

makemessages needs GNU gettext (xgettext, msgmerge). Without it the regeneration is skipped
with a warning, unless REQUIRE_GETTEXT is set (CI sets it): then it is an error.
"""

import os
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from web.catalogue import compiled_mismatches, parse, problems

LANGUAGES = ("ru",)
# What makemessages leaves out: installed packages, documents, tests and benchmarks.
IGNORED = (".venv", "docs", "tests", "bench", "build", "staticfiles", "media")


def regenerate(language: str) -> None:
    """Rewrite the language's catalogue from the sources, the project's way."""
    cwd = Path.cwd()
    os.chdir(settings.BASE_DIR)  # makemessages reads the tree below the working directory
    try:
        call_command("makemessages", locale=[language], no_location=True,
                     ignore_patterns=list(IGNORED), verbosity=0)
    finally:
        os.chdir(cwd)


def _without_dates(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(('"POT-Creation-Date:', '"PO-Revision-Date:')))


class Command(BaseCommand):
    help = "Fail when the Russian catalogue is out of date, incomplete or not compiled."

    def handle(self, *args: Any, **options: Any) -> None:
        failures: list[str] = []
        have_gettext = shutil.which("xgettext") and shutil.which("msgmerge")
        for language in LANGUAGES:
            folder = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES"
            po_path = folder / "django.po"
            if not po_path.exists():
                raise CommandError(f"{po_path} is missing")
            before = po_path.read_text(encoding="utf-8")
            if have_gettext:
                regenerate(language)
            elif os.environ.get("REQUIRE_GETTEXT"):
                raise CommandError("REQUIRE_GETTEXT is set but GNU gettext (xgettext, "
                                   "msgmerge) is not installed")
            else:
                self.stderr.write("GNU gettext is not installed: the catalogue is checked as "
                                  "it is, without regenerating it from the sources.")
            after = po_path.read_text(encoding="utf-8")
            old, new = parse(before), parse(after)
            if _without_dates(before) != _without_dates(after):
                old_keys = {entry.key for entry in old.entries}
                new_keys = {entry.key for entry in new.entries}
                added = [e for e in new.entries if e.key not in old_keys]
                removed = [e for e in old.entries if e.key not in new_keys]
                lines = [f"{po_path} was out of date with the sources and has been "
                         f"regenerated: translate it, then run compilemessages."]
                lines += [f"  new: {entry.label()}" for entry in added]
                lines += [f"  gone: {entry.label()}" for entry in removed]
                if not added and not removed:
                    lines.append("  (entries reordered or their flags changed)")
                failures.append("\n".join(lines))
            found = problems(new)
            if found:
                failures.append(f"{po_path}: {len(found)} entries to translate or fix:\n"
                                + "\n".join(f"  {problem}" for problem in found))
            stale = compiled_mismatches(new, folder / "django.mo")
            if stale:
                shown = "\n".join(f"  {line}" for line in stale[:20])
                more = f"\n  ... and {len(stale) - 20} more" if len(stale) > 20 else ""
                failures.append(f"{folder / 'django.mo'} does not match the .po; run "
                                f"`manage.py compilemessages`:\n{shown}{more}")
            if not failures:
                self.stdout.write(f"{language}: {len(new.entries)} entries, all translated "
                                  f"and compiled.")
        if failures:
            raise CommandError("\n".join(failures))
