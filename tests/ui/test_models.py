"""The table models alone, with no widget: grouping, cells, sort keys, and no reset when nothing changed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.store.rows import ClientGroup, EventRow, TokenRow
from app.ui import tokens_model as tm
from app.ui.table_models import ROW_ROLE, ClientsModel, EventsModel

pytestmark = pytest.mark.gui
NOW = 1_800_000_000.0


def token(
    tid: str,
    client: str,
    name: str,
    kind: str = "access",
    created: float = NOW - 120,
    used: float | None = None,
    grant: str = "",
) -> TokenRow:
    return TokenRow(
        tid,
        kind,
        grant or "g-" + tid,
        client,
        name,
        ("mcp",),
        "http://127.0.0.1:1/mcp",
        created,
        created + 3600,
        used,
        None,
    )


ROWS = [
    token("a1", "c1", "Claude Desktop", created=NOW - 60, used=NOW - 30),
    token("r1", "c1", "Claude Desktop", kind="refresh", created=NOW - 60, grant="g-a1"),
    token("a2", "c2", "Inspector", created=NOW - 600),
    token("a3", "c3", "Claude Desktop", created=NOW - 3000),  # the same app, registered again
]


def test_tokens_are_grouped_by_sign_in_and_revoke_all_knows_every_client_id() -> None:
    model = tm.TokensModel(now=lambda: NOW)
    model.set_rows(ROWS)
    assert model.rowCount() == 3  # one row per sign-in: a1+r1, a2, a3
    first = model.index(0, tm.COL_CLIENT)
    assert first.data() == "Claude Desktop"
    assert model.rowCount(first) == 2
    assert first.data(tm.CLIENT_IDS_ROLE) == ["c1"]
    assert model.client_ids_named("Claude Desktop") == ["c1", "c3"]
    assert model.index(0, tm.COL_ID).data() == "sign-in g-a1"
    assert model.sign_in_count() == 3 and model.token_count() == 4
    child = model.index(1, tm.COL_ID, first)
    assert child.data() == "r1"
    assert model.index(1, tm.COL_CLIENT, first).data() == "Refresh token"
    assert model.token_at(child) == ROWS[1]
    assert model.parent(child).row() == 0
    assert not model.parent(first).isValid()
    assert model.rowCount(child) == 0


def test_token_cells_show_relative_times_and_sort_by_timestamp() -> None:
    model = tm.TokensModel(now=lambda: NOW)
    model.set_rows(ROWS)
    parent = model.index(0, 0)
    used = model.index(0, tm.COL_LAST_USED, parent)
    assert used.data() == "30 s ago"
    assert used.data(tm.SORT_ROLE) == NOW - 30
    assert model.index(1, tm.COL_LAST_USED, parent).data() == "never"
    assert model.index(0, tm.COL_EXPIRES, parent).data() == "in 59 min"
    assert model.index(0, tm.COL_ISSUED).data(tm.SORT_ROLE) == NOW - 60  # a group sorts by its newest token
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] == list(
        tm.HEADERS
    )


def test_set_rows_resets_only_when_rows_change(qtbot: object) -> None:
    model = tm.TokensModel(now=lambda: NOW)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    assert model.set_rows(ROWS)
    assert not model.set_rows(list(ROWS))
    assert model.set_rows(ROWS[:1])
    assert len(resets) == 2
    assert model.token_count() == 1
    assert model.set_rows([])
    assert model.rowCount() == 0 and model.token_at(QModelIndex()) is None


def test_clients_model_cells_and_sort_keys() -> None:
    groups = [
        ClientGroup("Inspector", ("http://localhost:6274/cb",), ("c2",), NOW - 7200, 0),
        ClientGroup("Claude Desktop", ("http://127.0.0.1:3000/cb",), ("c1", "c3"), NOW - 60, 3),
    ]
    model = ClientsModel(now=lambda: NOW)
    model.set_rows(groups)
    assert model.rowCount() == 2 and model.columnCount() == len(ClientsModel.HEADERS)
    assert model.index(1, ClientsModel.COL_REGISTRATIONS).data() == "2"
    assert model.index(1, ClientsModel.COL_ACTIVE).data(tm.SORT_ROLE) == 3
    assert model.index(0, ClientsModel.COL_LATEST).data() == "2 h ago"
    assert model.index(1, 0).data(ROW_ROLE) is groups[1]
    assert "c1, c3" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_events_model_labels_kinds_and_sorts_by_order() -> None:
    events = [
        EventRow(7, NOW - 5, "authorized", "c1", "Claude Desktop", "mcp"),
        EventRow(6, NOW - 9, "refresh reused", "c2", None, "grant revoked"),
    ]
    model = EventsModel(now=lambda: NOW)
    model.set_rows(events)
    assert model.index(0, EventsModel.COL_KIND).data() == "Access granted"
    assert model.index(1, EventsModel.COL_CLIENT).data() == "c2"  # no name: the id
    assert model.index(1, EventsModel.COL_KIND).data().startswith("Refresh token reused")
    assert model.index(0, EventsModel.COL_TIME).data(tm.SORT_ROLE) == 7


def test_tokens_show_which_way_they_came_in() -> None:
    from dataclasses import replace

    model = tm.TokensModel(now=lambda: NOW)
    remote = replace(token("p1", "c9", "Phone"), remote=True)
    model.set_rows([*ROWS, remote])
    groups = {model.index(r, tm.COL_CLIENT).data(): r for r in range(model.rowCount())}
    assert model.index(groups["Phone"], tm.COL_VIA).data() == tm.REMOTE_TEXT
    assert model.index(groups["Inspector"], tm.COL_VIA).data() == tm.LOCAL_TEXT
    phone = model.index(groups["Phone"], 0)
    assert model.index(0, tm.COL_VIA, phone).data() == tm.REMOTE_TEXT
