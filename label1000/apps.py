from django.apps import AppConfig


class Label1000Config(AppConfig):
    name = "label1000"
    verbose_name = "1000-way labeling study: HITs, page, exemplars, import, human vs model"
