from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from clients.services import ADDRESS_NOT_FOUND, GEOCODER_UNAVAILABLE
from dispatch.models import Offer
from workers.models import Worker

from .workers_forms import skill_choices


class IntakeForm(forms.Form):
    """A recruiter's intake of a new applicant at the mobile office, on a phone."""

    name = forms.CharField(label=_("Name"), max_length=200)
    phone = PhoneNumberField(label=_("Phone"),
                             help_text=_("Any format: 8 912 345-67-89 or +7 912 345 67 89"))
    home_area = forms.CharField(label=_("Home area"), max_length=200, required=False,
                                help_text=_("District or street, placed on the map"))
    # The applicant's home on the map is what sends them offers near it; without it they get
    # none, so leaving it out is a choice the recruiter makes, never a silent fallback.
    no_home_point = forms.BooleanField(
        label=_("Save without a home point"), required=False,
        help_text=_("The applicant gets no offers until a home is placed"),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    skills = forms.MultipleChoiceField(
        label=_("Skills"),
        choices=skill_choices(),
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(label=_("Language of texts"), choices=Worker.Language.choices,
                                 initial=Worker.Language.RU)
    photo = forms.FileField(
        label=_("Photo"), required=False, help_text=_("JPEG, PNG or WebP, a few MB at most"),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}),
                            required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise forms.ValidationError(_("The location came incomplete; try again."))
        return data

    def has_point(self) -> bool:
        return self.cleaned_data.get("lat") is not None


class HoursField(forms.DecimalField):
    """Hours as a phone types them: a Russian keyboard gives "7,5" where others give "7.5"."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().replace(",", ".")
        return super().to_python(value)


class AttendanceForm(forms.Form):
    """One worker's attendance from the crew page: a status button and optional hours.

    Only the shape is checked here; whether the worker is on the crew, whether attendance is
    open and how many hours a shift allows are the service's rules."""

    worker = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    status = forms.ChoiceField(choices=[
        (Offer.Attendance.PRESENT, _("Present")),
        (Offer.Attendance.LATE, _("Late")),
        (Offer.Attendance.NO_SHOW, _("No-show")),
    ])
    # More places than payroll keeps: the service says why 7.3 is refused (quarter hours).
    hours = HoursField(max_digits=8, decimal_places=4, min_value=0, max_value=36,
                       required=False)


class SurplusForm(forms.Form):
    """A tap on a worker beyond the headcount: keep them at the client's request, take that
    back, or send them home. The service decides whether the worker is beyond the headcount."""

    worker = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    action = forms.ChoiceField(choices=[("keep", _("Keep")), ("unkeep", _("Do not keep")),
                                        ("send_home", _("Send home"))])


def address_errors(exc: ValidationError) -> list[str]:
    """Why an address could not be placed on the map, in the page's language (the service's
    own words are for the API, and name its lat and lng fields)."""
    errors = exc.error_dict.get("address", []) if hasattr(exc, "error_dict") else exc.error_list
    said: list[str] = []
    for error in errors:
        if error.code == ADDRESS_NOT_FOUND:
            said.append(gettext("This address could not be found."))
        elif error.code == GEOCODER_UNAVAILABLE:
            said.append(gettext("The map service is unavailable just now; try again in a "
                                "minute."))
        else:
            said.extend(error.messages)
    return said or exc.messages
