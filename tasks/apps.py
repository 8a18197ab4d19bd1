from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Crowd tasks: batches, HITs, assignments, workers"
