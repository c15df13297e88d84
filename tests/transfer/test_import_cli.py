"""`taskmanager import`: a 10,000-card Trello board in one transaction, in seconds, with a
progress bar; a bad file or owner writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from taskmanager.config import Settings
from taskmanager.transfer.cli import run_import
from tests.helpers import API, Team
from tests.transfer.test_transfer import trello_board


async def _import(
    make_settings: Callable[..., Settings], board: dict[str, Any], owner: str, tmp_path: Path
) -> int:
    path = tmp_path / "board.json"
    raw = json.dumps(board).encode()
    path.write_bytes(raw)
    return await run_import(
        make_settings(), raw=raw, path=path, owner_email=owner, project_name="Big board"
    )


async def test_ten_thousand_cards_in_seconds_with_progress(
    team: Team,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    board = trello_board(cards=10_000)
    board["actions"] = [
        {"type": "commentCard", "data": {"text": f"Note {i}", "card": {"id": f"c{i}"}}}
        for i in range(0, 10_000, 10)
    ]
    started = time.perf_counter()
    assert await _import(make_settings, board, team["member"].email, tmp_path) == 0
    elapsed = time.perf_counter() - started
    out = capsys.readouterr()
    project_id = out.out.strip()
    progress = [line for line in out.err.splitlines() if line.endswith("rows written")]
    assert len(progress) > 2  # batch by batch: 2 labels, 10,002 tasks, 2 links, 1,000 comments
    assert progress[0].endswith(" 0/11006 rows written")
    assert progress[-1].endswith(" 11006/11006 rows written")
    assert "10002 tasks" in out.err  # the cards and the checklist's two items
    # Seconds on a quiet machine (~2 s on PostgreSQL); generous for a shared CI box.
    assert elapsed < 30, elapsed
    print(f"imported 10,000 cards in {elapsed:.2f} s")

    member = team["member"]
    response = await member.get(f"{API}/projects/{project_id}")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Big board"
    assert response.json()["progress"] == {"todo": 3335, "in_progress": 3333, "done": 3334}
    page = await member.get(
        f"{API}/projects/{project_id}/tasks", params={"status": "done", "limit": 3}
    )
    assert [t["title"] for t in page.json()["items"]] == ["Card 2", "Card 5", "Card 8"]


async def test_bad_file_or_owner_writes_nothing(
    team: Team,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member = team["member"]
    before = (await member.get(f"{API}/projects", params={"limit": 100})).json()["items"]
    board = trello_board()
    del board["cards"][0]["name"]
    assert await _import(make_settings, board, member.email, tmp_path) == 1
    assert "cards.0.name: Field required" in capsys.readouterr().err
    assert await _import(make_settings, trello_board(), "nobody@example.com", tmp_path) == 1
    assert "no user nobody@example.com" in capsys.readouterr().err
    after = (await member.get(f"{API}/projects", params={"limit": 100})).json()["items"]
    assert after == before
