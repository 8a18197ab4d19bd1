from django.contrib import admin
from django.db import models
from django.utils.html import format_html

from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass


@admin.register(LabelClass)
class LabelClassAdmin(admin.ModelAdmin):
    list_display = ("index", "wnid", "name", "superclass")
    list_filter = ("superclass",)
    search_fields = ("name", "wnid", "definition", "lemmas")
    ordering = ("index",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name", "description")


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("preview", "external_id", "dataset", "original_label", "width", "height")
    list_filter = ("dataset", "original_label__superclass", ("original_label", admin.RelatedOnlyFieldListFilter))
    search_fields = ("external_id", "sha256", "original_label__name", "original_label__wnid")
    list_select_related = ("dataset", "original_label")
    raw_id_fields = ("original_label",)
    readonly_fields = ("preview", "sha256", "size_bytes", "width", "height", "file", "thumbnail")

    @admin.display(description="thumbnail")
    def preview(self, image: Image) -> str:
        if not image.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" style="max-height:64px;max-width:96px">', image.thumbnail.url)


@admin.register(CandidateLabel)
class CandidateLabelAdmin(admin.ModelAdmin):
    list_display = ("image", "label", "is_original")
    list_filter = ("is_original", "image__dataset")
    raw_id_fields = ("image", "label")


@admin.register(ContainsJudgment)
class ContainsJudgmentAdmin(admin.ModelAdmin):
    list_display = ("assignment", "image", "label", "selected")
    list_filter = ("selected",)
    raw_id_fields = ("assignment", "image", "label")


@admin.register(ClassifyResponse)
class ClassifyResponseAdmin(admin.ModelAdmin):
    list_display = ("assignment", "image", "main_label")
    raw_id_fields = ("assignment", "image", "main_label")
