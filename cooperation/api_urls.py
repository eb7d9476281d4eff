"""Open data outside the language prefixes: the API (/api/v1/), feeds, calendars and downloads."""

from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api, calendars, downloads, feeds

app_name = "open-data"

urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI sets inline styles; its scripts stay external, so only style-src is widened here.
    path(
        "api/v1/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="open-data:api-schema")
        ),
        name="api-docs",
    ),
    path("api/v1/partnerships/", api.PartnershipList.as_view(), name="api-partnership-list"),
    path("api/v1/partnerships/<slug:slug>/", api.PartnershipDetail.as_view(), name="api-partnership-detail"),
    path("api/v1/events/", api.EventList.as_view(), name="api-event-list"),
    path("api/v1/events/<uuid:uid>/", api.EventDetail.as_view(), name="api-event-detail"),
    path("api/v1/agreements/", api.AgreementList.as_view(), name="api-agreement-list"),
    path("api/v1/agreements/<uuid:uid>/", api.AgreementDetail.as_view(), name="api-agreement-detail"),
    path("api/v1/municipalities/", api.MunicipalityList.as_view(), name="api-municipality-list"),
    path("api/v1/municipalities/<str:cbs_code>/", api.MunicipalityDetail.as_view(), name="api-municipality-detail"),
    path("api/v1/pillars/", api.PillarList.as_view(), name="api-pillar-list"),
    path("api/v1/pillars/<str:code>/", api.PillarDetail.as_view(), name="api-pillar-detail"),
    re_path(r"^api/(?P<path>.*)$", api.not_found, name="api-not-found"),
    path("feeds/events/", feeds.PortalFeed(), name="feed-events"),
    path("feeds/partnerships/<slug:slug>/", feeds.PartnershipFeed(), name="feed-partnership"),
    path("feeds/municipalities/<str:cbs_code>/", feeds.MunicipalityFeed(), name="feed-municipality"),
    path("feeds/pillars/<str:code>/", feeds.PillarFeed(), name="feed-pillar"),
    path("calendars/partnerships/<slug:slug>.ics", calendars.partnership_calendar, name="calendar-partnership"),
    path("calendars/municipalities/<str:cbs_code>.ics", calendars.municipality_calendar, name="calendar-municipality"),
    path("downloads/<str:name>", downloads.download, name="download"),
]
