import pytest

from tests.builders import Staff


@pytest.fixture
def staff(db) -> Staff:
    return Staff.create()
