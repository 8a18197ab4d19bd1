"""DRF serializers of the read API. Labels are taxonomy indices; worker ids are pseudonyms unless
the view's context says `raw_worker_ids` (staff who asked for them)."""

from rest_framework import serializers

from analytics.models import ClassifyResult, SelectionFrequency
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from models_zoo.models import Prediction
from tasks.models import Worker
from tasks.privacy import public_worker_id


class LabelIndexField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="index", read_only=True, **kwargs)


class DatasetSerializer(serializers.ModelSerializer):
    images = serializers.IntegerField(source="image_count", read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "created_at", "images"]


class LabelClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["index", "wnid", "name", "lemmas", "definition", "hypernyms", "wikipedia", "superclass"]


class ImageSerializer(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    original_label = LabelIndexField(allow_null=True)
    category = serializers.CharField(source="category.category", default=None, read_only=True)

    class Meta:
        model = Image
        fields = ["id", "dataset", "external_id", "sha256", "width", "height", "original_label", "category"]


class ImageRefMixin(serializers.Serializer):
    image = serializers.CharField(source="image.external_id", read_only=True)
    image_id = serializers.IntegerField(read_only=True)


class PredictionSerializer(ImageRefMixin, serializers.ModelSerializer):
    labels = serializers.ListField(child=serializers.IntegerField(), read_only=True, help_text="Top-k, best first")
    probs = serializers.ListField(child=serializers.FloatField(), read_only=True,
                                  help_text="One per label; empty when imported without")

    class Meta:
        model = Prediction
        fields = ["id", "image", "image_id", "model_name", "model_version", "origin", "labels", "probs"]


class CandidateSerializer(ImageRefMixin, serializers.ModelSerializer):
    label = LabelIndexField()

    class Meta:
        model = CandidateLabel
        fields = ["id", "image", "image_id", "label", "is_original", "sources"]


class SelectionFrequencySerializer(ImageRefMixin, serializers.ModelSerializer):
    label = LabelIndexField()
    sf = serializers.FloatField(read_only=True)

    class Meta:
        model = SelectionFrequency
        fields = ["image", "image_id", "label", "n_selected", "n_shown", "sf"]  # the pair is the key


class ClassifyResultSerializer(ImageRefMixin, serializers.ModelSerializer):
    main_label = LabelIndexField()
    objects = serializers.JSONField(source="object_groups", read_only=True)

    class Meta:
        model = ClassifyResult
        fields = ["id", "image", "image_id", "num_annotators", "num_objects", "main_label", "main_votes", "objects",
                  "main_object", "original_object", "original_object_main_share", "num_objects_tied", "main_label_tied"]


class WorkerIdMixin(serializers.Serializer):
    worker = serializers.SerializerMethodField()

    def get_worker(self, obj) -> str:
        worker = obj if isinstance(obj, Worker) else obj.assignment.worker
        return public_worker_id(worker, raw=self.context.get("raw_worker_ids", False))


class ContainsJudgmentSerializer(ImageRefMixin, WorkerIdMixin, serializers.ModelSerializer):
    label = LabelIndexField()

    class Meta:
        model = ContainsJudgment
        fields = ["id", "image", "image_id", "label", "worker", "selected", "assignment_id"]


class ClassifyResponseSerializer(ImageRefMixin, WorkerIdMixin, serializers.ModelSerializer):
    main = LabelIndexField(source="main_label")

    class Meta:
        model = ClassifyResponse
        fields = ["id", "image", "image_id", "worker", "selected", "main", "assignment_id"]


class WorkerSerializer(WorkerIdMixin, serializers.ModelSerializer):
    assignments = serializers.IntegerField(source="assignment_count", read_only=True)
    flagged = serializers.IntegerField(source="flagged_count", read_only=True)

    class Meta:
        model = Worker
        fields = ["id", "worker", "provider", "is_simulated", "blocked", "assignments", "flagged"]
