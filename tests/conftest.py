import pytest

from compliance.models import User
from compliance.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def technician(db: None) -> User:
    return UserFactory(role=Role.TECHNICIAN, full_name="Taro Technician")


@pytest.fixture
def qa_user(db: None) -> User:
    return UserFactory(role=Role.QA, full_name="Hanako QA")


@pytest.fixture
def admin_user(db: None) -> User:
    user = UserFactory(role=Role.ADMIN, full_name="Ada Admin", is_staff=True, is_superuser=True)
    return user
