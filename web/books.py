"""The books: royalty statements and their payments, credits to clients, and HQ's page of a
month's statements across the network.

Every write goes through billing's services, the same ones the API calls (`statement_pay`
behind `POST royalty-statements/{id}/pay/`, `credit_give`, `credit_withdraw`); a refusal
comes back as a message next to the field, with what was typed kept, and nothing written.
A form posted by htmx is answered with its own fragment when it is refused, and with a
full reload of the page it came from when it succeeded (every figure on it may change).
"""

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Credit, RoyaltyStatement
from billing.selectors import statements_with_payments
from billing.services import credit_give, credit_withdraw, statement_pay, validate_period
from clients.models import Client
from core import clock
from franchises.models import Franchise
from franchises.scoping import scope_queryset

from .access import FRANCHISE, HQ, SignedInRequest, roles_required
from .form_fields import model_choice
from .local_time import local_time
from .once import new_form_key, once
from .templatetags.months import month

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- small shared pieces -------------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def local_today(zone: str) -> date:
    return clock.now().astimezone(ZoneInfo(zone)).date()


def next_url(request: HttpRequest, default: str, field: str = "next") -> str:
    """Where to go back after a form (its `field`): the page it was on, never another
    site."""
    target = request.POST.get(field) or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def done(request: HttpRequest, target: str) -> HttpResponse:
    """After a write: back to the page, reloaded whole (htmx follows HX-Redirect)."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's refusal onto the form: each message next to its field, the rest above."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


class MoneyField(forms.DecimalField):
    """An amount as people type it: "1 234,50" on a Russian keyboard, "1,234.50" or "1234.5"
    elsewhere."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            text = "".join(value.split()).replace("\u00a0", "")
            if "," in text and "." in text:
                text = text.replace(",", "")  # 1,234.50: the comma groups thousands
            value = text.replace(",", ".")
        return super().to_python(value)


class MonthInput(forms.TextInput):
    input_type = "month"


class MonthForm(forms.Form):
    """The month a page shows (`?month=YYYY-MM`); a bad one is said next to the picker and
    the default month is shown instead."""

    month = forms.CharField(label=gettext_lazy("Month"), required=False, max_length=7,
                            widget=MonthInput)

    def __init__(self, data: Any, *, default: str, **kwargs: Any) -> None:
        # Unnamed, the picker shows the default month rather than an empty field.
        super().__init__({"month": (data or {}).get("month") or default}, **kwargs)
        self.default = default
        self.period = default
        if self.is_valid() and self.cleaned_data["month"]:
            self.period = self.cleaned_data["month"]

    def clean_month(self) -> str:
        month = self.cleaned_data["month"].strip()
        if month:
            try:
                validate_period(month)
            except ValidationError as exc:
                raise forms.ValidationError(
                    _("Pick a month (YYYY-MM, e.g. 2026-10); showing %(month)s.")
                    % {"month": self.default}
                ) from exc
        return month


class DateInput(forms.DateInput):
    input_type = "date"


class PaymentForm(forms.Form):
    """A royalty payment as the API takes it: amount, and the day it was paid (the
    franchise's local date)."""

    amount = MoneyField(label=gettext_lazy("Amount"), max_digits=14, decimal_places=2,
                        min_value=Decimal("0.01"), widget=forms.TextInput(
                            attrs={"inputmode": "decimal", "autocomplete": "off"}))
    paid_on = forms.DateField(label=gettext_lazy("Paid on"),
                              widget=DateInput(format="%Y-%m-%d"))
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, statement: RoyaltyStatement, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"pay-{statement.pk}")
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.statement = statement


class CreditForm(forms.Form):
    """A credit to one of the franchise's clients for a month (HQ gives them)."""

    client = forms.ModelChoiceField(label=gettext_lazy("Client"), queryset=Client.objects.none())
    period = forms.CharField(label=gettext_lazy("Month"), max_length=7, widget=MonthInput)
    amount = MoneyField(label=gettext_lazy("Amount"), max_digits=12, decimal_places=2,
                        min_value=Decimal("0.01"), widget=forms.TextInput(
                            attrs={"inputmode": "decimal", "autocomplete": "off"}))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, franchise: Franchise, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "credit")
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.franchise = franchise
        model_choice(self, "client").queryset = Client.objects.filter(franchise=franchise).order_by(
            "name", "id")

    def clean_period(self) -> str:
        period = self.cleaned_data["period"].strip()
        try:
            return validate_period(period)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["period"]) from exc


# --- statements ------------------------------------------------------------------------------

STATUS_BADGE: dict[str, str] = {
    RoyaltyStatement.Status.PAID: "ok",
    RoyaltyStatement.Status.ISSUED: "",
    RoyaltyStatement.Status.OVERDUE: "bad",
    RoyaltyStatement.Status.CREDIT: "ok",
}
STATUS_LABEL: "dict[str, StrOrPromise]" = {
    RoyaltyStatement.Status.PAID: gettext_lazy("Paid"),
    RoyaltyStatement.Status.ISSUED: gettext_lazy("Issued"),
    RoyaltyStatement.Status.OVERDUE: gettext_lazy("Overdue"),
    RoyaltyStatement.Status.CREDIT: gettext_lazy("Credit carried forward"),
}


def dress_statements(statements: list[RoyaltyStatement], *, next_path: str,
                     forms_by_id: dict[int, PaymentForm] | None = None) -> list[RoyaltyStatement]:
    """What a statement's row shows beside its fields: outstanding, the status as a badge,
    the payments in the franchise's days, and a payment form while anything is owed."""
    for statement in statements:
        zone = statement.franchise.timezone
        # A credit statement owes nothing: its total below zero is carried, not outstanding.
        statement.outstanding = (Decimal(0) if statement.status == RoyaltyStatement.Status.CREDIT
                                 else statement.total - statement.paid)
        statement.rate_percent = statement.royalty_rate * 100
        statement.badge = STATUS_BADGE.get(statement.status, "")
        statement.status_label = STATUS_LABEL.get(statement.status, statement.status)
        statement.issued_local = local_time(statement.issued_at, zone)
        statement.is_open = statement.status in (RoyaltyStatement.Status.ISSUED,
                                                 RoyaltyStatement.Status.OVERDUE)
        if statement.is_open:
            statement.pay_form = (forms_by_id or {}).get(statement.pk) or PaymentForm(
                statement=statement,
                initial={"paid_on": local_today(zone), "amount": statement.outstanding,
                         "next": next_path},
            )
            statement.zone = local_time(clock.now(), zone).zone
            statement.form_key = new_form_key()
    return statements


def _statement_for(request: HttpRequest, statement_id: int) -> RoyaltyStatement:
    statements = scope_queryset(statements_with_payments(RoyaltyStatement.objects.all()),
                                request.user)
    return get_object_or_404(statements, pk=statement_id)


@roles_required(HQ, FRANCHISE)
def statement(request: SignedInRequest, statement_id: int) -> HttpResponse:
    """One statement, its payments, and the form that records one (`POST`), through the
    service behind `POST /api/v1/royalty-statements/{id}/pay/`. Another franchise's
    statement is 404, as in the API."""
    found = _statement_for(request, statement_id)
    own_page = reverse("web:statement", args=[found.pk])
    back = next_url(request, own_page, field=f"pay-{found.pk}-next")
    form = None
    if request.method == "POST":
        form = PaymentForm(request.POST, statement=found)
        if form.is_valid():
            try:
                with once(request, scope=f"statement/{found.pk}/pay") as claim:
                    if claim is not None and claim.replay is not None:
                        messages.info(request, _(
                            "This payment form was already sent: the payment was recorded "
                            "once."))
                        return done(request, back)
                    paid = statement_pay(statement=found, amount=form.cleaned_data["amount"],
                                         paid_on=form.cleaned_data["paid_on"],
                                         recorded_by=request.user)
                    if claim is not None:
                        claim.record(200, {"statement": paid.pk})
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _(
                    "Payment of %(amount)s %(currency)s recorded on the %(period)s statement "
                    "of %(franchise)s: %(status)s."
                ) % {"amount": formats.localize(form.cleaned_data["amount"]),
                     "currency": paid.currency,
                     "period": month(paid.period), "franchise": paid.franchise.name,
                     "status": STATUS_LABEL.get(paid.status, paid.status)})
                return done(request, back)
    dressed = dress_statements([found], next_path=back,
                               forms_by_id={found.pk: form} if form is not None else None)[0]
    if is_htmx(request):
        return render(request, "web/_books_pay_form.html", {
            "statement": dressed, "compact": request.POST.get("layout") == "compact"})
    return render(request, "web/books_statement.html",
                  {"statement": dressed, "statements": [dressed]})


# --- credits ---------------------------------------------------------------------------------


def franchise_from(value: Any) -> Franchise:
    """A franchise (not HQ) by the id a page was given; 404 for anything else."""
    try:
        franchise_id = int(value)
    except (TypeError, ValueError):
        raise Http404("No such franchise.") from None
    return get_object_or_404(Franchise.objects.exclude(kind=Franchise.Kind.HQ), pk=franchise_id)


def dashboard_path(franchise: Franchise, month: str | None = None,
                   anchor: str = "") -> str:
    query = f"?franchise={franchise.pk}" + (f"&month={month}" if month else "")
    return reverse("web:dashboard") + query + (f"#{anchor}" if anchor else "")


@roles_required(HQ)
def credit_add(request: SignedInRequest) -> HttpResponse:
    """HQ gives a client a credit (`?franchise=<id>`): the service checks the month has
    begun and the credit fits under what the client was invoiced."""
    franchise = franchise_from(request.POST.get("franchise") or request.GET.get("franchise"))
    back = next_url(request, dashboard_path(franchise, anchor="credits"), field="credit-next")
    if request.method == "POST":
        form = CreditForm(request.POST, franchise=franchise)
        if form.is_valid():
            data = form.cleaned_data
            try:
                credit = credit_give(franchise=franchise, client=data["client"],
                                     period=data["period"], amount=data["amount"],
                                     reason=data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _(
                    "Credit of %(amount)s %(currency)s given to %(client)s for %(period)s."
                ) % {"amount": formats.localize(credit.amount), "currency": franchise.currency,
                     "client": credit.client.name, "period": month(credit.period)})
                return done(request, back)
    else:
        form = CreditForm(franchise=franchise, initial={
            "period": clock.now().astimezone(ZoneInfo(franchise.timezone)).strftime("%Y-%m"),
            "next": back,
        })
    context = {"form": form, "franchise": franchise, "back": back}
    if is_htmx(request):
        return render(request, "web/_books_credit_form.html", context)
    return render(request, "web/books_credit.html", context)


@roles_required(HQ)
def credit_withdraw_page(request: SignedInRequest, credit_id: int) -> HttpResponse:
    """Take back a credit given by mistake: first a page that says what will change, then
    the POST that does it."""
    credit = get_object_or_404(Credit.objects.select_related("client", "franchise"),
                               pk=credit_id)
    back = next_url(request, dashboard_path(credit.franchise, credit.period, "credits"))
    if request.method == "POST":
        credit_withdraw(credit=credit, withdrawn_by=request.user)
        messages.success(request, _(
            "Credit of %(amount)s %(currency)s to %(client)s for %(period)s withdrawn."
        ) % {"amount": formats.localize(credit.amount), "currency": credit.franchise.currency,
             "client": credit.client.name, "period": month(credit.period)})
        return done(request, back)
    issued = RoyaltyStatement.objects.filter(franchise=credit.franchise,
                                             period=credit.period).exists()
    return render(request, "web/books_credit_withdraw.html",
                  {"credit": credit, "back": back, "issued": issued})


def credits_of(queryset: QuerySet[Credit]) -> list[Credit]:
    credits = list(queryset.select_related("client", "franchise").order_by("-created_at", "-id"))
    for credit in credits:
        credit.created_local = local_time(credit.created_at, credit.franchise.timezone)
    return credits


# --- HQ's books -------------------------------------------------------------------------------

BOOK_STATUSES = ("open", *RoyaltyStatement.Status.values)


def _previous_month(today: date) -> str:
    return (f"{today.year - 1:04d}-12" if today.month == 1
            else f"{today.year:04d}-{today.month - 1:02d}")


@roles_required(HQ)
def books(request: SignedInRequest) -> HttpResponse:
    """Every statement of a month (the last one issued, by default) with its payments and a
    form to record one, and the month's credits."""
    today = local_today(Franchise.hq_timezone())
    month_form = MonthForm(request.GET, default=_previous_month(today))
    period = month_form.period
    status = request.GET.get("status") or ""
    if status not in BOOK_STATUSES:
        status = ""
    statements = RoyaltyStatement.objects.filter(period=period)
    if status == "open":
        statements = statements.filter(status__in=[RoyaltyStatement.Status.ISSUED,
                                                   RoyaltyStatement.Status.OVERDUE])
    elif status:
        statements = statements.filter(status=status)
    listed = list(statements_with_payments(statements).order_by("franchise__name", "id"))
    dress_statements(listed, next_path=request.get_full_path())
    totals = {
        "total": sum((s.total for s in listed), Decimal(0)),
        "paid": sum((s.paid for s in listed), Decimal(0)),
        "outstanding": sum((s.outstanding for s in listed), Decimal(0)),
        "overdue": sum(s.status == RoyaltyStatement.Status.OVERDUE for s in listed),
    }
    return render(request, "web/books.html", {
        "month_form": month_form,
        "period": period,
        "status": status,
        "statuses": [("", _("All")), ("open", _("Not paid")),
                     *[(value, STATUS_LABEL[value]) for value in RoyaltyStatement.Status.values]],
        "statements": listed,
        "totals": totals,
        "credits": credits_of(Credit.objects.filter(period=period)),
        "today": today,
        "self_path": request.get_full_path(),
    })
