"""The clients row of a metadata-document client: created when first seen, refreshed, never a registered one."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store.store import Store

URL = "https://app.example.com/client.json"


def test_first_sight_creates_a_verified_row_and_refetch_updates_it(data_dir: Path) -> None:
    store = Store(data_dir)
    assert store.upsert_document_client(URL, "App", ["http://127.0.0.1:1/cb"], {"client_id": URL, "v": 1}, 10.0)
    (row,) = store.list_clients()
    assert row.client_id == URL and row.verified and row.client_name == "App"
    assert not store.upsert_document_client(URL, "App 2", ["http://127.0.0.1:2/cb"], {"client_id": URL, "v": 2}, 20.0)
    (row,) = store.list_clients()
    assert row.client_name == "App 2" and row.redirect_uris == ("http://127.0.0.1:2/cb",)
    assert store.client_info(URL) == {"client_id": URL, "v": 2}
    kinds = [e.kind for e in store.recent_events()]
    assert kinds == ["client updated", "registered"]
    store.close()


def test_a_removed_document_client_comes_back_as_new(data_dir: Path) -> None:
    store = Store(data_dir)
    store.upsert_document_client(URL, "App", ["https://app.example.com/cb"], {"client_id": URL}, 1.0)
    assert store.remove_client(URL)
    assert store.client_info(URL) is None
    assert store.upsert_document_client(URL, "App", ["https://app.example.com/cb"], {"client_id": URL}, 2.0)
    assert store.client_info(URL) == {"client_id": URL}
    store.close()


def test_a_registered_client_is_never_overwritten(data_dir: Path) -> None:
    store = Store(data_dir)
    store.add_client("abc", "Registered", ["http://127.0.0.1:1/cb"], {"client_id": "abc"})
    with pytest.raises(ValueError, match="registered itself"):
        store.upsert_document_client("abc", "Impostor", ["http://127.0.0.1:9/cb"], {"client_id": "abc"}, 1.0)
    info = store.client_info("abc")
    assert info is not None and info["client_id"] == "abc" and "Impostor" not in str(info)
    assert not store.list_clients()[0].verified
    store.close()


def test_verified_and_registered_clients_of_one_name_are_not_grouped(data_dir: Path) -> None:
    store = Store(data_dir)
    uris = ["http://127.0.0.1:1/cb"]
    store.add_client("abc", "Claude", uris, {"client_id": "abc"})
    store.upsert_document_client(URL, "Claude", uris, {"client_id": URL}, 1.0)
    groups = sorted(store.client_groups(), key=lambda g: g.verified)
    assert [(g.client_ids, g.verified) for g in groups] == [(("abc",), False), ((URL,), True)]
    store.close()
