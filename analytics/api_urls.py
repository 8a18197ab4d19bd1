from django.urls import path
from rest_framework.routers import DefaultRouter

from analytics import api

router = DefaultRouter()
router.register("datasets", api.DatasetViewSet, basename="dataset")
router.register("classes", api.LabelClassViewSet, basename="class")
router.register("images", api.ImageViewSet, basename="image")
router.register("predictions", api.PredictionViewSet, basename="prediction")
router.register("candidates", api.CandidateViewSet, basename="candidate")
router.register("selection-frequencies", api.SelectionFrequencyViewSet, basename="selection-frequency")
router.register("classify-results", api.ClassifyResultViewSet, basename="classify-result")
router.register("contains-judgments", api.ContainsJudgmentViewSet, basename="contains-judgment")
router.register("classify-responses", api.ClassifyResponseViewSet, basename="classify-response")
router.register("workers", api.WorkerViewSet, basename="worker")

urlpatterns = [
    path("datasets/<slug:name>/export/<slug:what>.<slug:fmt>", api.ExportView.as_view(), name="export"),
    path("datasets/<slug:name>/models/", api.ModelReportView.as_view(), name="model-report"),
    path("datasets/<slug:name>/models.<slug:fmt>", api.ModelReportView.as_view(), name="model-report-export"),
    *router.urls,
]
