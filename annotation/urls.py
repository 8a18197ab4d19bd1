from django.urls import path

from annotation import views
from label1000 import views as label1000_views

app_name = "annotation"

urlpatterns = [
    path("hit/<int:hit_id>/", views.hit_page, name="hit"),
    path("hit/<int:hit_id>/submit/", views.hit_submit, name="hit-submit"),
    path("annotate/", views.annotate, name="annotate"),
    path("batch/<int:batch_id>/preview/", views.batch_preview, name="batch-preview"),
    path("hit/<int:hit_id>/exemplar/<str:wnid>/<int:position>/", label1000_views.exemplar,
         name="label1000-exemplar"),
]
