from django import forms
from phonenumber_field.formfields import PhoneNumberField

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
