from django.urls import path
from django.utils.translation import gettext_lazy as _

from . import agreement_views, document_views, map_views, subscription_views, views
from .porting import job_views

app_name = "cooperation"

urlpatterns = [
    path("", views.home, name="home"),
    path("partnerships/", views.partnership_list, name="partnership-list"),
    path("partnerships/<slug:slug>/", views.partnership_detail, name="partnership-detail"),
    path("municipalities/", views.municipality_index, name="municipality-index"),
    path("municipalities/<str:cbs_code>/", views.municipality_detail, name="municipality-detail"),
    path("pillars/<str:code>/", views.pillar_detail, name="pillar-detail"),
    path("agreements/", agreement_views.agreement_list, name="agreement-list"),
    path("agreements/<uuid:uid>/", agreement_views.agreement_detail, name="agreement-detail"),
    path("about/", views.about, name="about"),
    path("documents/<uuid:uid>/", document_views.document_download, name="document-download"),
    path("documents/<uuid:uid>/text/", document_views.document_text, name="document-text"),
    # /kaart/ in Dutch, /en/map/ in English (the path is translated).
    path(_("map/"), map_views.country_map, name="map"),
    path("subscriptions/", subscription_views.subscription_list, name="subscriptions"),
    path("subscriptions/follow/", subscription_views.follow, name="follow"),
    path("subscriptions/<int:pk>/unfollow/", subscription_views.unfollow, name="unfollow"),
    path("unsubscribe/<str:token>/", subscription_views.unsubscribe, name="unsubscribe"),
    path("imports/jobs/<int:pk>/", job_views.import_job, name="import-job"),
    path("imports/jobs/<int:pk>/status/", job_views.import_job_status, name="import-job-status"),
    path("imports/jobs/<int:pk>/confirm/", job_views.import_job_confirm, name="import-job-confirm"),
    path("imports/jobs/<int:pk>/retry/", job_views.import_job_retry, name="import-job-retry"),
]
