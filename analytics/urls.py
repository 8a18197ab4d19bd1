from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analytics import model_views, views
from label1000 import report_views

app_name = "analytics"

urlpatterns = [
    path("dashboard/", views.index, name="index"),
    path("dashboard/jobs/<int:job_id>/", views.job_status, name="job-status"),
    path("dashboard/<slug:name>/", views.dataset_dashboard, name="dataset"),
    path("dashboard/<slug:name>/analysis/<slug:key>.csv", views.analysis_csv, name="analysis-csv"),
    path("dashboard/<slug:name>/image/<int:image_id>/", views.image_detail, name="image"),
    path("dashboard/<slug:name>/jobs/<slug:kind>/", views.start_job, name="start-job"),
    path("dashboard/<slug:name>/top-up/<slug:kind>/", views.top_up, name="top-up"),
    path("dashboard/<slug:name>/label1000/", report_views.report, name="label1000"),
    path("dashboard/<slug:name>/models/", model_views.models_page, name="models"),
    path("dashboard/<slug:name>/label1000/tag/", report_views.tag_error, name="label1000-tag"),
    path("api/v1/", include("analytics.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="analytics:schema"), name="api-docs"),
]
