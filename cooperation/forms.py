"""Forms validate input; they hold no business logic."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

# Longer search text is refused: no one types more, and it keeps the search bounded.
SEARCH_MAX_LENGTH = 200


class Select(forms.Select):
    """The same `<select>` as Django's, built in Python: the template per option of Django's widget
    made the list's filter of hundreds of municipalities its slowest part."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(item) for item in self.format_value(value)}
        # escape() on each value and label, joined once: format_html() per option costs several times more.
        options = "".join(
            f'<option value="{escape(key)}"{" selected" if str(key) in chosen else ""}>{escape(label)}</option>'
            for key, label in self.choices
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            SafeString(options),
        )


class PartnershipFilterForm(forms.Form):
    """The form of `filters.PartnershipFilterSet`: its fields come from the filters, all optional
    and kept in the query string. Help texts describe API parameters, so the page leaves them out
    (it shows the labels)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.help_text = ""


class MunicipalitySearchForm(forms.Form):
    """The search of the municipality index: a name (former names too) and whether to show only
    municipalities with partnerships. Both optional, kept in the query string."""

    q = forms.CharField(
        label=_("Find a municipality"),
        help_text=_("A name, also of a former municipality, e.g. Geleen."),
        max_length=SEARCH_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    with_partnerships = forms.BooleanField(label=_("Only municipalities with partnerships"), required=False)
