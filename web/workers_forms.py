"""Forms of the worker pool's pages: the search, an interview, a photo, an appeal's decision.

They check the shape of what was typed; the rules (who may pass an interview, what a photo
must be, whether an appeal is still open) are the services' and come back as field errors.
"""

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from clients.models import Site
from workers.models import SKILLS, Interview, Worker

from .form_fields import choice, model_choice

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# A franchise picks a site from a list; a network's worth of sites is typed as a number.
SITE_LIST_MAX = 100
MIN_PHONE_DIGITS = 3
# What the browser's file picker offers; the service checks the content whatever is sent.
PHOTO_TYPES = "image/jpeg,image/png,image/webp"

STATUS_LABELS: "dict[str, StrOrPromise]" = {
    Worker.Status.APPLICANT: _("Applicant"),
    Worker.Status.ACTIVE: _("Active"),
    Worker.Status.SUSPENDED: _("Suspended"),
    Worker.Status.BLOCKED: _("Blocked"),
}
SKILL_LABELS: "dict[str, StrOrPromise]" = {
    "loading": _("loading"), "moving": _("moving"),
    "snow_clearing": _("snow clearing"), "roofing": _("roofing"),
    "cleaning": _("cleaning"), "general": _("general labour"),
    "foreman": _("foreman"), "driver": _("driver"),
}


def skill_choices() -> list[tuple[str, Any]]:
    return [(skill, SKILL_LABELS.get(skill, skill)) for skill in SKILLS]


class SiteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Site) -> str:
        return f"{obj.client.name} · {obj.address}"


class WorkerSearchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False,
                            help_text=_("Any format, or a part of the number"))
    skill = forms.ChoiceField(label=_("Skill"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    min_rating = forms.DecimalField(label=_("Rating at least"), required=False, min_value=0,
                                    max_value=5, decimal_places=2)
    place = forms.CharField(label=_("Near a place"), max_length=200, required=False,
                            help_text=_("District, street or city; or lat, lng"))
    site = SiteChoiceField(label=_("Near a site"), queryset=Site.objects.none(),
                           required=False)
    radius_km = forms.FloatField(label=_("Within km"), required=False, min_value=0.5,
                                 max_value=500, initial=10)

    def __init__(self, *args: Any, sites: QuerySet[Site] | None, **kwargs: Any) -> None:
        """`sites`: those the reader may search near; None takes the choice away."""
        super().__init__(*args, **kwargs)
        choice(self, "skill").choices = [("", _("any")), *skill_choices()]
        choice(self, "status").choices = [("", _("any")), *STATUS_LABELS.items()]
        if sites is None:
            del self.fields["site"]
            return
        site = model_choice(self, "site")
        site.queryset = sites.select_related("client").order_by("client__name", "address", "id")
        if sites.count() > SITE_LIST_MAX:
            site.widget = forms.NumberInput(attrs={"min": 1})
            site.help_text = _("The site's number")
        else:
            site.empty_label = _("none")

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and len(re.sub(r"\D", "", phone)) < MIN_PHONE_DIGITS:
            raise forms.ValidationError(
                _("Type at least %(count)d digits of the number."),
                params={"count": MIN_PHONE_DIGITS}, code="short",
            )
        return phone

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("place") and data.get("site"):
            self.add_error("site", _("Search near a place or near a site, not both."))
        return data


class InterviewForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Interview.Outcome.choices,
                                widget=forms.RadioSelect)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))


class PhotoForm(forms.Form):
    # A plain file field: what the file is, is read from its content by the service.
    photo = forms.FileField(label=_("New photo"), required=False,
                            help_text=_("JPEG, PNG or WebP, a few MB at most"),
                            widget=forms.FileInput(attrs={"accept": PHOTO_TYPES}))
    remove = forms.BooleanField(label=_("Remove the photo"), required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("photo") and not data.get("remove"):
            self.add_error("photo", _("Choose a photo to upload."))
        return data


class AppealDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("reverse", _("Reverse the no-show")),
                                          ("uphold", _("Uphold the no-show"))])
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000)


class WorkerEditForm(forms.Form):
    """A worker's details as their recruiting office (or HQ) keeps them; an office they have
    worked for sees the notes only. The home point and its area are placed at intake (and
    moved through the API), where the address is put on the map."""

    name = forms.CharField(label=_("Name"), max_length=200)
    phone = PhoneNumberField(label=_("Phone"),
                             help_text=_("Any format: 8 912 345-67-89 or +7 912 345 67 89"))
    skills = forms.MultipleChoiceField(label=_("Skills"), choices=skill_choices,
                                       widget=forms.CheckboxSelectMultiple)
    language = forms.ChoiceField(label=_("Language of texts"),
                                 choices=Worker.Language.choices)
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, fields: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]
