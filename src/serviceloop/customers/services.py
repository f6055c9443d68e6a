"""Customer writes: portal sign-up creates the login and the customer record together."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.core.exceptions import InvalidInputError, Problem
from serviceloop.customers.models import Customer

__all__ = [
    "EMAIL_INVALID",
    "EMAIL_TAKEN",
    "NAME_REQUIRED",
    "customer_register",
]

# Codes of serviceloop.core.messages.MESSAGES.
EMAIL_TAKEN = "email_taken"
EMAIL_INVALID = "email_invalid"
NAME_REQUIRED = "name_required"


def _email_taken(email: str) -> bool:
    return (
        Customer.objects.filter(email__iexact=email).exists()
        or User.objects.filter(email__iexact=email).exists()
        or User.objects.filter(username__iexact=email).exists()
    )


@transaction.atomic
def customer_register(*, name: str, email: str, password: str) -> Customer:
    """Create a portal login (role customer, username = email) and its customer record.

    An address already known (as a customer from email/API intake, or as any login) is refused
    rather than attached: without a verified mailbox, claiming it would expose that customer's cases.
    """
    name = name.strip()
    email = email.strip().lower()
    fields: dict[str, list[Problem | str]] = {}
    if not name:
        fields["name"] = [Problem(NAME_REQUIRED)]
    try:
        validate_email(email)
    except ValidationError:
        fields["email"] = [Problem(EMAIL_INVALID)]
    else:
        if _email_taken(email):
            fields["email"] = [Problem(EMAIL_TAKEN)]
    try:
        validate_password(password, User(username=email, email=email, first_name=name))
    except ValidationError as exc:
        fields["password"] = list(exc.messages)
    if fields:
        first = next(iter(fields.values()))[0]
        raise InvalidInputError(first, fields=fields)

    try:
        with transaction.atomic():
            user = User(username=email, email=email, first_name=name[:150], role=Role.CUSTOMER)
            user.set_password(password)
            user.full_clean()
            user.save()
            customer = Customer(name=name, email=email, user=user)
            customer.full_clean()
            customer.save()
    except IntegrityError as exc:  # a concurrent sign-up with the same address won the race
        raise InvalidInputError.for_field("email", Problem(EMAIL_TAKEN)) from exc
    return customer
