from __future__ import annotations

import pytest

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.core.exceptions import InvalidInputError
from serviceloop.customers.models import Customer
from serviceloop.customers.services import (
    EMAIL_INVALID,
    EMAIL_TAKEN,
    NAME_REQUIRED,
    customer_register,
)
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "plum-orchard-77-lantern"


def test_register_creates_login_and_customer() -> None:
    customer = customer_register(name=" Chen Jing ", email="Chen@Example.CN", password=PASSWORD)
    assert customer.name == "Chen Jing"
    assert customer.email == "chen@example.cn"
    assert customer.user is not None
    assert customer.user.role == Role.CUSTOMER
    assert customer.user.username == "chen@example.cn"
    assert customer.user.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"email": "known@example.cn"}, "email", EMAIL_TAKEN),
        ({"email": "KNOWN@example.cn"}, "email", EMAIL_TAKEN),
        ({"email": "login@example.cn"}, "email", EMAIL_TAKEN),
        ({"email": "not-an-address"}, "email", EMAIL_INVALID),
        ({"name": "  "}, "name", NAME_REQUIRED),
        ({"password": "short"}, "password", "This password is too short."),
        ({"password": "password123"}, "password", "This password is too common."),
    ],
)
def test_register_refuses_with_field_message_and_writes_nothing(
    kwargs: dict, field: str, message: str
) -> None:
    CustomerFactory(email="known@example.cn")  # known from email intake, no login
    UserFactory(username="someone", email="login@example.cn")
    users, customers = User.objects.count(), Customer.objects.count()
    args = {"name": "Chen Jing", "email": "new@example.cn", "password": PASSWORD, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        customer_register(**args)
    # Our refusals by their code, Django's password validators by their text.
    shown = [str(problem) for problem in info.value.fields[field]]
    assert message in info.value.field_codes()[field] or any(message in m for m in shown)
    assert (User.objects.count(), Customer.objects.count()) == (users, customers)
