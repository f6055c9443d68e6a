"""Portal sign-up: the same answer for new and known addresses, a mailed link that finishes it with
the chosen password, rate limits, and no server error for any input (hypothesis)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from serviceloop.accounts.models import User
from serviceloop.customers.models import Customer
from tests.factories import AgentFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-passphrase-7"
FORM = {"name": "Zhang Wei", "password": PASSWORD, "password_confirm": PASSWORD}


@pytest.fixture(autouse=True)
def fresh_limits(settings):
    from django.core.cache import cache

    cache.clear()
    settings.RATE_SIGNUPS_PER_ADDRESS = "1000/3600"
    settings.RATE_SIGNUPS_PER_EMAIL = "1000/3600"


def sign_up(client: Client, email: str, **extra: str):
    return client.post(reverse("portal:signup"), FORM | {"email": email} | extra)


def _page(client: Client, url: str) -> str:
    """The page without its per-session CSRF token."""
    return re.sub(r"[A-Za-z0-9]{32,}", "", client.get(url).content.decode())


def link_in(message) -> str:
    found = re.search(r"https?://\S+/portal/signup/confirm/\S+/", message.body)
    assert found, message.body
    return found.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_new_address_gets_a_link_that_finishes_with_the_chosen_password(client, world):
    response = sign_up(client, "Zhang.Wei@Example.com")
    assert response.status_code == 302 and response["Location"] == reverse("portal:signup-sent")
    assert not User.objects.filter(email="zhang.wei@example.com").exists()  # nothing yet
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["zhang.wei@example.com"]
    link = link_in(mail.outbox[0])
    assert client.get(link).status_code == 200
    wrong = client.post(link, {"password": "somebody-elses-password-1"})
    assert wrong.status_code == 422
    assert not Customer.objects.filter(email="zhang.wei@example.com").exists()
    done = client.post(link, {"password": PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("portal:case-list")
    customer = Customer.objects.get(email="zhang.wei@example.com")
    assert customer.user is not None and customer.user.is_customer
    assert client.get(reverse("portal:case-list")).status_code == 200


@pytest.mark.parametrize("known", ["customer", "customer-upper", "staff"])
def test_known_and_new_addresses_get_the_same_answer(client, world, known):
    """Nobody can learn from the page whether an address has an account, staff included."""
    address = AgentFactory().email if known == "staff" else CustomerFactory().email
    if known == "customer-upper":
        address = address.upper()
    users = User.objects.count()
    answer_known = sign_up(client, address)
    answer_new = sign_up(Client(), "nobody-yet@example.org")
    assert (answer_known.status_code, answer_known["Location"]) == (
        answer_new.status_code,
        answer_new["Location"],
    )
    assert _page(client, answer_known["Location"]) == _page(Client(), answer_new["Location"])
    assert User.objects.count() == users
    to_known, to_new = mail.outbox
    assert "already" in to_known.body and "/signup/confirm/" not in to_known.body
    assert "/signup/confirm/" in to_new.body


def test_a_forged_or_expired_link_is_refused(client, world, settings):
    sign_up(client, "late@example.org")
    link = link_in(mail.outbox[0])
    assert client.get(link[:-5] + "XXXX/").status_code == 404
    settings.SIGNUP_LINK_SECONDS = -1
    assert client.post(link, {"password": PASSWORD}).status_code == 404
    assert not User.objects.filter(email="late@example.org").exists()


def test_an_address_that_is_no_valid_login_is_a_clear_422(client, world):
    """``=1+1@example.net`` passes the email check but not the username rule: it used to be 500."""
    response = sign_up(client, "=1+1@example.net")
    assert response.status_code == 422
    assert "email" in response.context["form"].errors
    assert not mail.outbox and not User.objects.filter(email="=1+1@example.net").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"password_confirm": "something-else-entirely-9"}, "password_confirm"),
        ({"password": "12345678", "password_confirm": "12345678"}, "password"),
        ({"email": "not-an-address"}, "email"),
        ({"name": ""}, "name"),
        ({"email": "a" * 140 + "@example.com"}, "email"),
    ],
)
def test_bad_input_shows_the_error_and_sends_nothing(client, world, data, field):
    users = User.objects.count()
    response = client.post(reverse("portal:signup"), FORM | {"email": "zw@example.com"} | data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert User.objects.count() == users and not mail.outbox


def test_sign_ups_from_one_address_are_rate_limited(client, world, settings):
    settings.RATE_SIGNUPS_PER_ADDRESS = "3/3600"
    for i in range(3):
        assert sign_up(client, f"p{i}@example.org").status_code == 302
    refused = sign_up(client, "p9@example.org")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert len(mail.outbox) == 3
    other = Client(REMOTE_ADDR="192.0.2.9")  # another address is not affected
    assert sign_up(other, "p10@example.org").status_code == 302


def test_one_mailbox_gets_few_mails_and_the_same_answer(client, world, settings):
    settings.RATE_SIGNUPS_PER_EMAIL = "2/3600"
    answers = {
        sign_up(Client(REMOTE_ADDR=f"192.0.2.{i}"), "target@example.org").status_code
        for i in range(5)
    }
    assert answers == {302}
    assert len(mail.outbox) == 2


def test_signup_pages_and_mails_are_translated_to_chinese(client, world):
    client.cookies["django_language"] = "zh-hans"
    response = client.post(reverse("portal:signup"), FORM | {"email": "=1+1@example.net"})
    assert response.status_code == 422
    assert "此地址不能用作登录名" in response.content.decode()
    sent = sign_up(client, "zh@example.org")
    assert "请查收邮件" in client.get(sent["Location"]).content.decode()
    assert "完成创建账户" in mail.outbox[0].body


text = st.text(st.characters(codec="utf-8"), max_size=60)


@hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=text,
    email=st.one_of(text, st.emails(), text.map(lambda t: t + "@example.net")),
    password=text,
    confirm=st.one_of(text, st.just(None)),
)
def test_any_unicode_in_the_signup_form_gets_an_answer_not_an_error(
    world, name, email, password, confirm
):
    client = Client()  # raises on a server error
    data = {"name": name, "email": email, "password": password}
    data["password_confirm"] = password if confirm is None else confirm
    response = client.post(reverse("portal:signup"), data)
    assert response.status_code in {302, 422}, response.status_code
