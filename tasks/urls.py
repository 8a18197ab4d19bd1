from django.urls import path

from tasks import views

app_name = "tasks"

urlpatterns = [
    path("link/<int:batch_id>/start/", views.link_start, name="link-start"),
    path("mturk/externalSubmit", views.link_done, name="link-done"),
    path("prolific/<int:batch_id>/start/", views.prolific_start, name="prolific-start"),
]
