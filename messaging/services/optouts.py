"""Opt-outs: a number that texted STOP (or СТОП), or that a carrier reports as opted out,
gets nothing until it texts START."""

from core import clock

from ..models import OptOut


def is_opted_out(phone: str) -> bool:
    return OptOut.objects.filter(phone=phone).exists()


def opt_out_record(*, phone: str, keyword: str) -> None:
    OptOut.objects.get_or_create(
        phone=phone, defaults={"opted_out_at": clock.now(), "keyword": keyword[:20]}
    )


def opt_in_record(*, phone: str) -> bool:
    deleted, _ = OptOut.objects.filter(phone=phone).delete()
    return bool(deleted)
