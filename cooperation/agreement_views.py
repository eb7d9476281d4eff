"""The agreements register: `/agreements/` (every agreement this audience may see, filtered with
`filters.AgreementFilterSet`) and `/agreements/<uid>/` (one agreement with its events, sources and
documents). Each page costs a fixed number of queries whatever the amount of data (pinned in
tests/test_agreements.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from . import agreements as register
from . import permissions
from .filters import AgreementFilterSet
from .models import Agreement, Event
from .views import COST_KINDS, DECISION_KINDS, municipality_choices

PAGE_SIZE = 20


def agreement_list(request):
    """7 queries cold: register stamp, municipality choices, count, the page's agreements (with
    partnership and state), memberships, the events citing them and their municipalities; the
    municipality choices are cached per state of the register (+ session/user when signed in)."""
    internal = permissions.can_view_internal(request.user)
    today = timezone.localdate()
    filterset = AgreementFilterSet(
        request.GET,
        Agreement.objects.for_audience(internal).for_list(),
        request=request,
        municipality_choices=municipality_choices(internal),
    )
    agreements = filterset.qs.with_state(today).select_related("partnership")
    page = Paginator(agreements, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = register.describe(page.object_list, internal=internal, today=today)
    kept = {key: value for key, value in request.GET.items() if key != "page" and value}
    context = {
        "form": filterset.form,
        "page": page,
        "filters": filterset.valid,
        "filtered": filterset.filtered,
        "query_string": urlencode(kept),
        "sort": filterset.order,
    }
    return render(request, "cooperation/agreement_list.html", context)


def agreement_detail(request, uid):
    """7 queries: the agreement (with partnership and state), the events citing it (with pillar),
    their municipalities, sources and participants, memberships, documents (+ session/user when
    signed in). Internal agreements, and agreements of internal partnerships, are a 404 to the public."""
    internal = permissions.can_view_internal(request.user)
    today = timezone.localdate()
    queryset = Agreement.objects.for_audience(internal).for_list().with_state(today).select_related("partnership")
    agreement = get_object_or_404(queryset, uid=uid)
    events = Event.objects.with_participants(agreement.events.for_audience(internal).for_timeline())
    register.describe([agreement], internal=internal, today=today, events=events)
    context = {
        "agreement": agreement,
        "partnership": agreement.partnership,
        "documents": agreement.documents.for_audience(internal),
        "timeline": agreement.citing,
        "can_view_internal": internal,
        "cost_kinds": COST_KINDS,
        "decision_kinds": DECISION_KINDS,
        "plan": agreement.state == "planned",
    }
    return render(request, "cooperation/agreement_detail.html", context)
