"""Read-only REST API (/api/v1/): explicit filters, cursor pagination, per-dataset permissions.

Who reads what: staff read every dataset; other users read the datasets they were granted
(DatasetAccess); a token scoped to one dataset (ApiToken) reads that dataset and nothing else.
Annotators and anonymous users get nothing.
"""

import csv
from collections.abc import Callable

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, permissions, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import exports, label_export, model_report, serializers
from analytics.access import hash_token_key
from analytics.models import ApiToken, ClassifyResult, SelectionFrequency
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from models_zoo.models import Prediction
from tasks.models import Worker

RESERVED_PARAMS = {"cursor", "page_size", "raw_worker_ids"}


class ScopedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`: a dataset-scoped ApiToken first, then the user's DRF token."""

    def authenticate_credentials(self, key: str):
        scoped = ApiToken.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()
        if scoped is None:
            return super().authenticate_credentials(key)
        if not scoped.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        ApiToken.objects.filter(pk=scoped.pk).update(last_used_at=timezone.now())
        return scoped.user, scoped


AUTHENTICATION = [ScopedTokenAuthentication, SessionAuthentication]


def readable_datasets(request: Request) -> QuerySet[Dataset]:
    """The datasets this request may read (empty for anonymous users and annotators)."""
    user = request.user
    if not user or not user.is_authenticated:
        return Dataset.objects.none()
    datasets = Dataset.objects.all() if user.is_staff else Dataset.objects.filter(access__user=user)
    if isinstance(request.auth, ApiToken):
        datasets = datasets.filter(pk=request.auth.dataset_id)
    return datasets


class CanReadSomeDataset(permissions.BasePermission):
    message = "This account has no read access to any dataset (ask staff for a DatasetAccess grant)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user and user.is_authenticated and user.is_staff and not isinstance(request.auth, ApiToken):
            return True  # staff read every dataset, also before the first exists: empty lists, not 403
        return readable_datasets(request).exists()


def wants_raw_worker_ids(request: Request) -> bool:
    return bool(request.user.is_staff and request.query_params.get("raw_worker_ids") in {"1", "true"})


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000


class PairCursorPagination(IdCursorPagination):
    """For rows keyed by (image, label): the cursor holds the image id and an offset within it."""

    ordering = ("image_id", "label_id")


Filter = Callable[[QuerySet, str], QuerySet]


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise exceptions.ValidationError({"detail": f"Filter '{name}' needs an integer, got {value!r}."}) from None


def _unit(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise exceptions.ValidationError({"detail": f"Filter '{name}' needs a number in [0, 1], got {value!r}."})
    return number


def by(field: str, convert: Callable[[str, str], object] | None = None, name: str = "") -> Filter:
    """An exact-match filter on one fixed field (the only kind of lookup the API accepts)."""
    return lambda qs, value: qs.filter(**{field: convert(value, name) if convert else value})


def sf_at_least(qs: QuerySet, value: str) -> QuerySet:
    return qs.filter(n_shown__gt=0, n_selected__gte=F("n_shown") * _unit(value, "sf_min"))


def sf_at_most(qs: QuerySet, value: str) -> QuerySet:
    return qs.filter(n_shown__gt=0, n_selected__lte=F("n_shown") * _unit(value, "sf_max"))


class DatasetScopedViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only list/detail restricted to readable datasets, with an allow-list of filters."""

    authentication_classes = AUTHENTICATION
    permission_classes = [CanReadSomeDataset]
    pagination_class = IdCursorPagination
    dataset_field = "image__dataset"
    filters: dict[str, Filter] = {}

    def get_queryset(self) -> QuerySet:
        qs = self.base_queryset()
        qs = qs.filter(**{f"{self.dataset_field}__in": readable_datasets(self.request)})
        return self.apply_filters(qs)

    def base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def apply_filters(self, qs: QuerySet) -> QuerySet:
        allowed = {"dataset", *self.filters}
        for name, value in self.request.query_params.items():
            if name in RESERVED_PARAMS:
                continue
            if name not in allowed:
                raise exceptions.ValidationError(
                    {"detail": f"Unknown filter '{name}'. Allowed filters: {', '.join(sorted(allowed))}."}
                )
            if name == "dataset":
                qs = qs.filter(**{f"{self.dataset_field}__name": value})
            else:
                qs = self.filters[name](qs, value)
        return qs

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "raw_worker_ids": wants_raw_worker_ids(self.request)}


def _filter_params(*names: str) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, OpenApiTypes.STR, description=f"Filter by {name}") for name in names]


@extend_schema(parameters=_filter_params("dataset"))
class DatasetViewSet(DatasetScopedViewSet):
    serializer_class = serializers.DatasetSerializer
    dataset_field = "pk"
    lookup_field = "name"

    def base_queryset(self) -> QuerySet:
        return Dataset.objects.annotate(image_count=Count("images"))

    def apply_filters(self, qs: QuerySet) -> QuerySet:
        name = self.request.query_params.get("dataset")
        unknown = set(self.request.query_params) - RESERVED_PARAMS - {"dataset"}
        if unknown:
            raise exceptions.ValidationError({"detail": f"Unknown filter '{sorted(unknown)[0]}'. Allowed: dataset."})
        return qs.filter(name=name) if name else qs


@extend_schema(parameters=_filter_params("label", "category"))
class LabelClassViewSet(viewsets.ReadOnlyModelViewSet):
    """The taxonomy (shared by all datasets): readable by anyone who can read some dataset."""

    serializer_class = serializers.LabelClassSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [CanReadSomeDataset]
    pagination_class = IdCursorPagination
    lookup_field = "index"

    def get_queryset(self) -> QuerySet:
        qs = LabelClass.objects.all()
        for name, value in self.request.query_params.items():
            if name in RESERVED_PARAMS:
                continue
            if name == "label":
                qs = qs.filter(index=_int(value, "label"))
            elif name == "category":
                qs = qs.filter(superclass=value)
            else:
                raise exceptions.ValidationError({"detail": f"Unknown filter '{name}'. Allowed: category, label."})
        return qs


@extend_schema(parameters=_filter_params("dataset", "label", "category"))
class ImageViewSet(DatasetScopedViewSet):
    serializer_class = serializers.ImageSerializer
    dataset_field = "dataset"
    filters = {"label": by("original_label__index", _int, "label"), "category": by("category__category")}

    def base_queryset(self) -> QuerySet:
        return Image.objects.select_related("dataset", "original_label", "category")


@extend_schema(parameters=_filter_params("dataset", "label", "model", "image"))
class PredictionViewSet(DatasetScopedViewSet):
    serializer_class = serializers.PredictionSerializer
    filters = {"label": by("image__original_label__index", _int, "label"), "model": by("model_name"),
               "image": by("image__external_id")}

    def base_queryset(self) -> QuerySet:
        return Prediction.objects.select_related("image")


@extend_schema(parameters=_filter_params("dataset", "label", "category", "image"))
class CandidateViewSet(DatasetScopedViewSet):
    serializer_class = serializers.CandidateSerializer
    filters = {"label": by("label__index", _int, "label"), "category": by("image__category__category"),
               "image": by("image__external_id")}

    def base_queryset(self) -> QuerySet:
        return CandidateLabel.objects.select_related("image", "label")


@extend_schema(parameters=_filter_params("dataset", "label", "category", "image", "sf_min", "sf_max"))
@extend_schema_view(retrieve=extend_schema(parameters=[
    OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="<image_id>-<label index>, e.g. 42-7"),
]))
class SelectionFrequencyViewSet(DatasetScopedViewSet):
    """Rows are keyed by their pair: /selection-frequencies/<image_id>-<label index>/."""

    serializer_class = serializers.SelectionFrequencySerializer
    pagination_class = PairCursorPagination
    lookup_value_regex = r"\d+-\d+"
    filters = {"label": by("label__index", _int, "label"), "category": by("image__category__category"),
               "image": by("image__external_id"), "sf_min": sf_at_least, "sf_max": sf_at_most}

    def base_queryset(self) -> QuerySet:
        return SelectionFrequency.objects.select_related("image", "label")

    def get_object(self) -> SelectionFrequency:
        image_id, label = self.kwargs[self.lookup_field].split("-")
        row = get_object_or_404(self.filter_queryset(self.get_queryset()), image_id=image_id, label__index=label)
        self.check_object_permissions(self.request, row)
        return row


@extend_schema(parameters=_filter_params("dataset", "label", "category", "image"))
class ClassifyResultViewSet(DatasetScopedViewSet):
    serializer_class = serializers.ClassifyResultSerializer
    filters = {"label": by("main_label__index", _int, "label"), "category": by("image__category__category"),
               "image": by("image__external_id")}

    def base_queryset(self) -> QuerySet:
        return ClassifyResult.objects.select_related("image", "main_label")


@extend_schema(parameters=_filter_params("dataset", "label", "image"))
class ContainsJudgmentViewSet(DatasetScopedViewSet):
    serializer_class = serializers.ContainsJudgmentSerializer
    filters = {"label": by("label__index", _int, "label"), "image": by("image__external_id")}

    def base_queryset(self) -> QuerySet:
        return ContainsJudgment.objects.select_related("image", "label", "assignment__worker")


@extend_schema(parameters=_filter_params("dataset", "label", "image"))
class ClassifyResponseViewSet(DatasetScopedViewSet):
    serializer_class = serializers.ClassifyResponseSerializer
    filters = {"label": by("main_label__index", _int, "label"), "image": by("image__external_id")}

    def base_queryset(self) -> QuerySet:
        return ClassifyResponse.objects.select_related("image", "main_label", "assignment__worker")


@extend_schema(parameters=_filter_params("dataset"))
class WorkerViewSet(DatasetScopedViewSet):
    """Workers who answered a HIT of a readable dataset, with their assignment counts there."""

    serializer_class = serializers.WorkerSerializer
    dataset_field = "assignments__hit__batch__dataset"

    def get_queryset(self) -> QuerySet:
        datasets = readable_datasets(self.request)
        name = self.request.query_params.get("dataset")
        self.apply_filters(Worker.objects.none())  # validates the parameters
        if name:
            datasets = datasets.filter(name=name)
        in_scope = Q(assignments__hit__batch__dataset__in=datasets)
        return (
            Worker.objects.filter(in_scope)
            .annotate(
                assignment_count=Count("assignments", filter=in_scope, distinct=True),
                flagged_count=Count("assignments", filter=in_scope & Q(assignments__flagged=True), distinct=True),
            )
            .distinct()
        )


class ExportView(APIView):
    """GET /api/v1/datasets/<name>/export/<what>.<jsonl|csv>: the whole dataset, streamed."""

    authentication_classes = AUTHENTICATION
    permission_classes = [CanReadSomeDataset]

    @extend_schema(
        responses={(200, "application/jsonl"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR},
        parameters=[OpenApiParameter("raw_worker_ids", OpenApiTypes.BOOL, description="Staff only: raw ids")],
        description=f"Stream one table of a dataset. what: {', '.join(exports.EXPORTS)}; format: jsonl or csv. "
                    "Or what=labels: the new labels, format json (ReaL-style list) or jsonl (a row per image).",
    )
    def get(self, request: Request, name: str, what: str, fmt: str) -> StreamingHttpResponse:
        dataset = readable_datasets(request).filter(name=name).first()
        if dataset is None:
            raise Http404("No such dataset, or no read access to it.")
        if what == "labels" and fmt in label_export.LABEL_FORMATS:
            return _attachment(label_export.stream(dataset, fmt), label_export.LABEL_FORMATS[fmt], dataset, what, fmt)
        if what not in exports.EXPORTS or fmt not in exports.FORMATS:
            raise exceptions.ValidationError(
                {"detail": f"Export what ∈ {sorted(exports.EXPORTS)}, format ∈ {sorted(exports.FORMATS)}."}
            )
        chunks = exports.stream(dataset, what, fmt, raw_worker_ids=wants_raw_worker_ids(request))
        response = StreamingHttpResponse(chunks, content_type=exports.FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{dataset.name}-{what}.{fmt}"'
        return response



def _attachment(chunks, content_type: str, dataset: Dataset, what: str, fmt: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{dataset.name}-{what}.{fmt}"'
    return response


def readable_dataset(request: Request, name: str) -> Dataset:
    """The dataset `name` if this request may read it, else 404 (same answer as for a missing one)."""
    dataset = readable_datasets(request).filter(name=name).first()
    if dataset is None:
        raise Http404("No such dataset, or no read access to it.")
    return dataset


class ModelReportView(APIView):
    """GET /api/v1/datasets/<name>/models/ (JSON) or .../models.csv: every model judged against the new labels."""

    authentication_classes = AUTHENTICATION
    permission_classes = [CanReadSomeDataset]

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
        description="Per model: ImageNet top-1/top-5, multi-label and main-label accuracy, accuracy on single- and "
                    "multi-object images, mean SF of the top-1 and of the ImageNet label, wrong-but-valid share, "
                    "each with a 95 % bootstrap interval; and how many CLASSIFY results are tied.",
    )
    def get(self, request: Request, name: str, fmt: str = "json") -> Response | HttpResponse:
        dataset = readable_dataset(request, name)
        unknown = set(request.query_params) - RESERVED_PARAMS
        if unknown or fmt not in {"json", "csv"}:
            raise exceptions.ValidationError({"detail": "This report takes no filter; formats: models/ or models.csv."})
        report = model_report.build_model_report(dataset)
        if fmt == "json":
            return Response(report.as_dict())
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{dataset.name}-models.csv"'
        columns, rows = model_report.table(report)
        csv.writer(response, lineterminator="\n").writerows([columns, *rows])
        return response
