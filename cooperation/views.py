from django.http import HttpResponse


def home(request):
    return HttpResponse("ok")


partnership_list = partnership_detail = municipality_detail = pillar_detail = about = home
