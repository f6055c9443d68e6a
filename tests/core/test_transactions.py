import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from serviceloop.core.transactions import without_savepoints
from tests.factories import TeamFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="savepoints are PostgreSQL's subtransactions"
    ),
]


def test_nested_blocks_make_no_savepoint_while_active_and_do_again_after():
    with transaction.atomic():
        with without_savepoints(), transaction.atomic():
            assert connection.savepoint_ids[-1] is None
        with transaction.atomic():
            assert connection.savepoint_ids[-1] is not None


def test_an_error_caught_inside_spoils_the_whole_transaction_instead_of_a_savepoint():
    with transaction.atomic():
        with without_savepoints():
            TeamFactory(name="kept only with a savepoint")
            with pytest.raises(DatabaseError), transaction.atomic():
                raise DatabaseError("refused")
        with pytest.raises(TransactionManagementError):
            TeamFactory(name="after the error")
        transaction.set_rollback(True)
    assert connection.features.uses_savepoints
