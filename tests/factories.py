"""factory-boy factories for the core records. Services stay the way to change state."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from batches import identifiers
from batches.models import Batch, Clinic, Collection, Location, Patient, ProcessingProtocol, Therapy
from compliance.models import User
from core.roles import Role

PASSWORD = "correct-horse-battery"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CLINIC{n}")
    name = factory.LazyAttribute(lambda o: f"Clinic {o.code}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC{n}")
    name = factory.LazyAttribute(lambda o: f"Location {o.code}")
    kind = Location.Kind.INCUBATOR


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"Staff Member {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: Role | str | None, **kwargs: object) -> None:
        from django.contrib.auth.models import Group

        from core.roles import ensure_role_groups

        self.save()
        if extracted:
            ensure_role_groups()
            self.groups.add(Group.objects.get(name=str(extracted)))


def protocol(code: str = "SCI-SUBACUTE-IV") -> ProcessingProtocol:
    """A reference protocol (installed by migrate)."""
    return ProcessingProtocol.objects.get(code=code, version=1)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    code = factory.Sequence(lambda n: f"PT-{n:04d}")
    birth_year = 1988
    sex = Patient.Sex.MALE
    weight_kg = 68.5
    injury_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=10))
    injury_level = "C5"
    asia_grade = "B"
    injury_type = Patient.InjuryType.CONTUSION
    malignancy_history = False


class TherapyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapy

    coi = factory.LazyFunction(identifiers.coi_allocate)
    patient = factory.SubFactory(PatientFactory)
    protocol = factory.LazyFunction(protocol)


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    din = factory.LazyFunction(identifiers.din_allocate)
    therapy = factory.SubFactory(TherapyFactory)
    kind = Collection.Kind.BONE_MARROW
    collected_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=6))
    volume_ml = 30


class BatchFactory(factory.django.DjangoModelFactory):
    """A batch in ``awaiting_receipt`` (move it on with services)."""

    class Meta:
        model = Batch

    collection = factory.SubFactory(CollectionFactory)
    din = factory.SelfAttribute("collection.din")
    therapy = factory.SelfAttribute("collection.therapy")
    status_changed_at = factory.LazyFunction(timezone.now)


def scan(din: str) -> str:
    """What a barcode reader returns for a label: the DIN and its check character."""
    from core.isbt128 import check_character

    return din + check_character(din)


def unbound_coordinator(**fields: object) -> User:
    """A coordinator with no clinic, as rows written before migration 0005 may be.

    The database refuses such an account, so it is written with triggers off.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            return UserFactory(role=Role.COORDINATOR, clinic=None, **fields)
        finally:
            cursor.execute("RESET session_replication_role")


def coordinator_of(clinic: Clinic) -> User:
    """The coordinator of ``clinic`` (one per clinic): the clinic's side in service calls."""
    username = f"coord-{clinic.code}".lower()
    return User.objects.filter(username=username).first() or UserFactory(
        username=username, role=Role.COORDINATOR, clinic=clinic, full_name=f"Coordinator of {clinic.code}"
    )
