"""factory_boy factories for the core models."""

import factory
from django.contrib.auth import get_user_model

from annotation.models import CandidateLabel, Dataset, Image, LabelClass
from tasks.models import Assignment, Batch, Hit, HitItem, Provider, TaskKind, Worker


class LabelClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabelClass
        django_get_or_create = ("index",)

    index = factory.Sequence(lambda n: n)
    wnid = factory.LazyAttribute(lambda o: f"n{o.index:08d}")
    name = factory.LazyAttribute(lambda o: f"class {o.index}")
    lemmas = factory.LazyAttribute(lambda o: [o.name])
    definition = factory.LazyAttribute(lambda o: f"definition of {o.name}")
    hypernyms = factory.LazyAttribute(lambda o: [["n00001740", "entity"], [o.wnid, o.name]])
    wikipedia = factory.LazyAttribute(lambda o: f"https://en.wikipedia.org/wiki/Class_{o.index}")
    superclass = "Devices"


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"dataset-{n}")


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    dataset = factory.SubFactory(DatasetFactory)
    external_id = factory.Sequence(lambda n: f"img_{n:05d}.jpg")
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    width = 64
    height = 48
    original_label = factory.SubFactory(LabelClassFactory)


class CandidateLabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CandidateLabel

    image = factory.SubFactory(ImageFactory)
    label = factory.SubFactory(LabelClassFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    provider = Provider.SIMULATOR
    external_id = factory.Sequence(lambda n: f"AWORKER{n:06d}")


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    dataset = factory.SubFactory(DatasetFactory)
    kind = TaskKind.CONTAINS
    reward = "0.10"
    assignments_per_hit = 9


class HitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hit

    batch = factory.SubFactory(BatchFactory)


class HitItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HitItem

    hit = factory.SubFactory(HitFactory)
    image = factory.SubFactory(ImageFactory)
    position = factory.Sequence(lambda n: n % 1000)


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    hit = factory.SubFactory(HitFactory)
    worker = factory.SubFactory(WorkerFactory)
    # Test data stands for work a platform vouched for; tests of unconfirmed work say so.
    confirmation = Assignment.Confirmation.CONFIRMED


class ContainsJudgmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.ContainsJudgment"

    assignment = factory.SubFactory(AssignmentFactory)
    image = factory.SubFactory(ImageFactory)
    label = factory.SubFactory(LabelClassFactory)
    selected = True


class ClassifyResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.ClassifyResponse"

    assignment = factory.SubFactory(AssignmentFactory)
    image = factory.SubFactory(ImageFactory)
    selected = factory.LazyAttribute(lambda o: [o.main_label.index])
    main_label = factory.SubFactory(LabelClassFactory)
