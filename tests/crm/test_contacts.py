"""Contacts: one per email address in an account, whatever the case, even under races."""

import threading
import time

import pytest
from django.db import connection as db_connection
from django.db import transaction

from crm.models import Contact
from crm.services import DuplicateContact, create_contact, upsert_contact


def test_upsert_contact_matches_addresses_whatever_their_case(account, admin_user):
    first = upsert_contact(account, email="Grace@Navy.example", first_name="Grace")
    again = upsert_contact(
        account, email=" grace@NAVY.example ", last_name="Hopper", owner=admin_user
    )
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.email, again.first_name, again.last_name) == (
        "Grace@Navy.example",
        "Grace",
        "Hopper",
    )
    assert again.owner == admin_user
    assert Contact.objects.filter(account=account).count() == 1


def test_upsert_contact_keeps_an_existing_owner(account, admin_user, member_user):
    upsert_contact(account, email="ann@client.example", owner=member_user)
    contact = upsert_contact(account, email="ann@client.example", owner=admin_user)
    assert contact.owner == member_user


def test_the_same_address_in_two_accounts_is_two_contacts(account, make_account):
    other = make_account("Other")
    ours = upsert_contact(account, email="ann@client.example")
    theirs = upsert_contact(other, email="ANN@client.example")
    assert ours.pk != theirs.pk


def test_create_contact_refuses_a_taken_address_in_any_case(account):
    create_contact(account, email="ann@client.example")
    with pytest.raises(DuplicateContact):
        create_contact(account, email="Ann@Client.Example")


def _wait_for_a_blocked_insert(timeout: float = 10) -> None:
    """Wait until some database session waits for a lock (the racer's insert)."""
    deadline = time.monotonic() + timeout
    with db_connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second insert never blocked")


@pytest.mark.django_db(transaction=True)
def test_upsert_contact_that_loses_the_insert_race_updates_the_winner(account):
    inserted, commit = threading.Event(), threading.Event()
    results = []

    def winner():
        with transaction.atomic():
            Contact.objects.create(account=account, email="Race@Client.example")
            inserted.set()
            commit.wait(10)
        db_connection.close()

    def loser():
        results.append(upsert_contact(account, email="race@client.example", first_name="Ria"))
        db_connection.close()

    threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
    threads[0].start()
    inserted.wait(10)
    threads[1].start()
    # The loser saw no contact, and its insert now waits on the winner's uncommitted row.
    _wait_for_a_blocked_insert()
    commit.set()
    for thread in threads:
        thread.join(10)
    contact = Contact.objects.get(account=account)
    assert results[0].pk == contact.pk
    assert (contact.email, contact.first_name) == ("Race@Client.example", "Ria")


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_address_end_with_one_contact(account):
    start = threading.Barrier(6)
    results, errors = [], []

    def upsert(n: int):
        try:
            start.wait(10)
            results.append(upsert_contact(account, email=f"{'SAM' if n % 2 else 'sam'}@x.example"))
        except Exception as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=upsert, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len({contact.pk for contact in results}) == 1
    assert Contact.objects.filter(account=account).count() == 1
