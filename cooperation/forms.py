"""Forms validate input; they hold no business logic."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .models import Partnership, Pillar, Province


def _choices(label, choices):
    return [("", label), *choices]


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
    """The filters of the partnership list; all optional, all kept in the query string."""

    SORTS = [
        ("relevance", _("relevance")),
        ("name", _("name")),
        ("-first_date", _("newest first")),
        ("first_date", _("oldest first")),
        ("-last_date", _("latest event")),
    ]

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    province = forms.ChoiceField(
        label=_("Province"), required=False, choices=_choices(_("all provinces"), Province.choices)
    )
    pillar = forms.ChoiceField(
        label=_("Pillar"), required=False, choices=_choices(_("all pillars"), Pillar.Code.choices)
    )
    legal_form = forms.ChoiceField(
        label=_("Legal form"), required=False, choices=_choices(_("all legal forms"), Partnership.LegalForm.choices)
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_choices(_("any status"), Partnership.Status.choices)
    )
    # A text box with a numeric keyboard (GOV.UK advice): type="number" cannot show back a wrong value
    # such as "abc" beside its error message without making the page invalid HTML.
    year = forms.IntegerField(
        label=_("Active in year"),
        required=False,
        min_value=1800,
        max_value=2100,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORTS)

    def __init__(self, *args, municipality_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"] = forms.ChoiceField(
            label=_("Municipality"),
            required=False,
            choices=_choices(_("all municipalities"), municipality_choices),
            widget=Select,
        )
        self.order_fields(["q", "municipality"])

    def valid_filters(self) -> dict:
        """The filters that passed validation; invalid ones are reported and ignored."""
        self.is_valid()
        return {
            name: value
            for name, value in getattr(self, "cleaned_data", {}).items()
            if name not in self.errors and value not in (None, "")
        }
