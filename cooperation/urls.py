from django.urls import path

from . import views

app_name = "cooperation"

urlpatterns = [
    path("", views.home, name="home"),
    path("partnerships/", views.partnership_list, name="partnership-list"),
    path("partnerships/<slug:slug>/", views.partnership_detail, name="partnership-detail"),
    path("municipalities/<str:cbs_code>/", views.municipality_detail, name="municipality-detail"),
    path("pillars/<str:code>/", views.pillar_detail, name="pillar-detail"),
    path("about/", views.about, name="about"),
]
