from typing import Any

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from dispatch.models import Offer
from workers.models import SKILLS, Worker


class IntakeForm(forms.Form):
    """A recruiter's intake of a new applicant at the mobile office, on a phone."""

    name = forms.CharField(max_length=200)
    phone = PhoneNumberField(help_text="Any format: 8 912 345-67-89 or +7 912 345 67 89")
    home_area = forms.CharField(max_length=200, required=False, help_text="District or street")
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    skills = forms.MultipleChoiceField(
        choices=[(skill, skill.replace("_", " ")) for skill in SKILLS],
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(choices=Worker.Language.choices, initial=Worker.Language.RU)
    photo = forms.FileField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


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
        (Offer.Attendance.PRESENT, "Present"),
        (Offer.Attendance.LATE, "Late"),
        (Offer.Attendance.NO_SHOW, "No-show"),
    ])
    hours = HoursField(max_digits=4, decimal_places=1, min_value=0, max_value=36,
                       required=False)


class SurplusForm(forms.Form):
    """A tap on a worker beyond the headcount: keep them at the client's request, take that
    back, or send them home. The service decides whether the worker is beyond the headcount."""

    worker = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    action = forms.ChoiceField(choices=[("keep", "Keep"), ("unkeep", "Do not keep"),
                                        ("send_home", "Send home")])
