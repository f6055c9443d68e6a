"""Portal sign-up that does not tell who already has an account.

Asking to sign up answers the same whatever the address: a mail goes to it. An address nobody
uses gets a link that finishes the sign-up; a known one (a customer, any login, staff included)
gets a note that it already has an account. Only the mailbox owner learns which.

The link carries the name, the address and a keyed hash (HMAC with the secret key) of the chosen
password, signed and time-limited; nothing is stored until it is followed. Finishing asks for the
password again and checks it against that hash, so a link requested by somebody else, with a
password the mailbox owner does not know, cannot be used to make an account they would not control.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from serviceloop.accounts.models import User
from serviceloop.core.exceptions import InvalidInputError, Problem
from serviceloop.customers.models import Customer
from serviceloop.customers.services import customer_register

__all__ = [
    "PendingSignup",
    "signup_complete",
    "signup_read",
    "signup_request",
]

_SALT = "serviceloop.customers.signup"


@dataclass(frozen=True)
class PendingSignup:
    name: str
    email: str
    password_mac: str


def _password_mac(email: str, password: str) -> str:
    return salted_hmac(_SALT, f"{email}\0{password}", algorithm="sha256").hexdigest()


def _address_known(email: str) -> bool:
    return (
        Customer.objects.filter(email__iexact=email).exists()
        or User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists()
    )


def signup_request(*, name: str, email: str, password: str, link_for: Callable[[str], str]) -> None:
    """Mail ``email`` either a link that finishes the sign-up or a note that it is known.

    ``link_for(token)`` builds the absolute URL of the confirmation page. The caller has validated
    the form (address format, password rules) and answers the same in both cases.
    """
    email = email.strip().lower()
    if _address_known(email):
        send_mail(
            _("Your ServiceLoop account"),
            _(
                "Somebody, probably you, asked to create an account with this address, but it "
                "already has one (or the service desk knows it from your messages). Sign in with "
                "it; if you do not have a password yet, ask the service desk for one. If it was "
                "not you, ignore this mail."
            ),
            None,
            [email],
        )
        return
    token = signing.dumps(
        {"n": name.strip(), "e": email, "p": _password_mac(email, password)},
        salt=_SALT,
        compress=True,
    )
    send_mail(
        _("Finish creating your ServiceLoop account"),
        _(
            "Follow this link to finish creating your account (it works for %(hours)d hours):\n"
            "%(link)s\n\nIf you did not ask for an account, ignore this mail."
        )
        % {"hours": settings.SIGNUP_LINK_SECONDS // 3600, "link": link_for(token)},
        None,
        [email],
    )


def signup_read(token: str) -> PendingSignup:
    """The sign-up a link stands for, or InvalidInputError if it is forged or expired."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.SIGNUP_LINK_SECONDS)
        return PendingSignup(name=str(data["n"]), email=str(data["e"]), password_mac=str(data["p"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidInputError.for_field("token", Problem("signup_link_invalid")) from None


def signup_complete(*, token: str, password: str) -> Customer:
    """Create the login and customer record of a confirmed sign-up (the password must match)."""
    pending = signup_read(token)
    if not hmac.compare_digest(pending.password_mac, _password_mac(pending.email, password)):
        raise InvalidInputError.for_field("password", Problem("signup_password_mismatch"))
    try:
        return customer_register(name=pending.name, email=pending.email, password=password)
    except ValidationError as exc:  # a model rule the form did not know: still the client's input
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"email": exc.messages}
        first = next(iter(fields.values()))[0]
        raise InvalidInputError(first, {"fields": fields}) from None
