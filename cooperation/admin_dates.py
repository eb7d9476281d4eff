"""The admin's date field: dates as people write them, read back in words before saving.

An editor types "najaar 2016", "eind 2010" or EDTF; `dates.read_date` reads it and the field
stores the EDTF. What was understood is shown under the field ("gelezen als: najaar 2016"):

- without JavaScript, a phrase (anything that is not already EDTF) is not saved on the first
  submit: the form comes back with the reading, and saving again (the same text) confirms it;
- with JavaScript (static/js/date-reading.js), the reading appears live as the editor types,
  from `date_reading` (staff only, a GET without side effects); a reading shown is a reading
  confirmed, so the form saves at once.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import dates, permissions

SHORT_HELP = gettext_lazy(
    "In words or as EDTF: 27 October 2010, October 2009, autumn 2016, end of 2010, around December 2010, "
    "before 8 May 2019, between autumn 2016 and 2017. Empty: unknown."
)
CONFIRM_SUFFIX = "_read"


def reading(text: str | None) -> tuple[str, str]:
    """(EDTF, "read as: …") for text that reads as a date; ValidationError otherwise."""
    parsed = dates.read_date(text)
    return parsed.text, _("read as: %(date)s") % {"date": dates.render_date(parsed.text)}


def is_phrase(text: str | None) -> bool:
    """Whether the text is words (to be confirmed) rather than EDTF (stored as typed)."""
    try:
        dates.parse_date(text)
    except ValidationError:
        return True
    return False


class DatePhraseWidget(forms.TextInput):
    """A text input, the reading under it, and the confirmation of the reading shown."""

    class Media:
        css = {"all": ["css/admin-dates.css"]}
        js = ["js/date-reading.js"]

    def value_from_datadict(self, data, files, name):
        return (data.get(name), data.get(name + CONFIRM_SUFFIX))

    def value_omitted_from_data(self, data, files, name):
        return name not in data

    def format_value(self, value):
        if isinstance(value, tuple | list):
            value = value[0]
        return super().format_value(value)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {}), "data-date-reading": "1"}
        field_id = attrs.get("id") or self.attrs.get("id") or name
        attrs["aria-describedby"] = " ".join(filter(None, [attrs.get("aria-describedby"), f"{field_id}_reading"]))
        text = self.format_value(value) or ""
        try:
            _edtf, words = reading(text)
        except ValidationError:
            words, confirmed = "", ""
        else:
            confirmed = text
        return format_html(
            '{}<input type="hidden" name="{}" value="{}" data-date-confirm="{}">'
            '<p class="date-reading" id="{}_reading" data-url="{}" aria-live="polite">{}</p>',
            super().render(name, value, attrs, renderer),
            name + CONFIRM_SUFFIX,
            confirmed,
            field_id,
            field_id,
            reverse("admin-date-reading"),
            words if text.strip() else "",
        )


class DatePhraseField(forms.CharField):
    """Cleans to the EDTF text `dates.read_date` makes of what was typed; one message if it cannot."""

    widget = DatePhraseWidget

    def __init__(self, *args, **kwargs):
        kwargs["label"] = capfirst(gettext_lazy("date"))
        kwargs["help_text"] = SHORT_HELP
        kwargs["max_length"] = 100  # words take more room than the EDTF they are stored as
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        text, _confirmed = value if isinstance(value, tuple | list) else (value, None)
        return super().to_python(text)

    def clean(self, value):
        text, confirmed = value if isinstance(value, tuple | list) else (value, None)
        text = self.to_python(text)
        self.validate(text)
        self.run_validators(text)
        edtf, words = reading(text)  # ValidationError: the one message, once
        if is_phrase(text) and " ".join((confirmed or "").split()) != " ".join(text.split()):
            message = _("%(reading)s. Is that right? Save again to store it, or change the date.")
            raise ValidationError(message % {"reading": capfirst(words)}, code="confirm_date")
        return edtf

    def has_changed(self, initial, data):
        text = data[0] if isinstance(data, tuple | list) else data
        try:
            text = dates.read_date(text).text
        except ValidationError:
            return True
        return (initial or "") != text


class DatePhraseFormMixin:
    """For model admins and inlines: every `date_text` field reads phrases (DatedModel forms)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "date_text":
            kwargs["form_class"] = DatePhraseField
            kwargs["widget"] = DatePhraseWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)


def date_reading(request):
    """JSON for the live reading under the admin's date field: staff only, read-only GET."""
    if not permissions.can_use_admin(request.user):
        return JsonResponse({"error": _("Sign in as staff to use this.")}, status=403)
    if request.method != "GET":
        return JsonResponse({"error": _("Only GET is allowed.")}, status=405, headers={"Allow": "GET"})
    text = request.GET.get("text", "")[:200]
    try:
        edtf, words = reading(text)
    except ValidationError as error:
        return JsonResponse({"ok": False, "error": " ".join(error.messages)})
    return JsonResponse({"ok": True, "edtf": edtf, "reading": words if text.strip() else ""})
