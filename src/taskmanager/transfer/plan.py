"""An import file turned into one neutral plan, checked so that nothing is half-imported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from taskmanager.errors import ValidationFailed
from taskmanager.transfer.schemas import (
    EXPORT_FORMAT,
    ProjectFile,
    TrelloBoard,
    TrelloCommentData,
    TrelloList,
)

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class PlannedTask:
    key: str
    title: str
    description: str = ""
    status: str = "todo"
    priority: str = "none"
    due_at: dt.datetime | None = None
    parent_key: str | None = None
    recurrence: str | None = None
    label_keys: list[str] = field(default_factory=list)
    remind_at: dt.datetime | None = None


@dataclass(slots=True)
class Plan:
    name: str
    description: str = ""
    labels: list[tuple[str, str, str]] = field(default_factory=list)  # key, name, color
    tasks: list[PlannedTask] = field(default_factory=list)  # parents before their subtasks
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # kind, source, target
    comments: list[tuple[str, str, dt.datetime | None]] = field(default_factory=list)


def _bad(loc: Sequence[str | int], msg: str) -> ValidationFailed:
    return ValidationFailed.field(("body", *loc), msg)


def _parse(model: type[M], data: Any, at: Sequence[str | int] = ()) -> M:
    """The model, or a 422 whose errors say where in the file each problem is."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *at, *err["loc"]], "msg": err["msg"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        where = ".".join(map(str, errors[0]["loc"]))
        raise ValidationFailed(f"{where}: {errors[0]['msg']}", errors=errors) from None


def plan_from(data: Any) -> Plan:
    """Our export (`format` is set) or a Trello board export (`cards` and `lists`)."""
    if isinstance(data, dict) and "format" in data:
        return _from_export(_parse(ProjectFile, data))
    if isinstance(data, dict) and ("cards" in data or "lists" in data):
        return _from_trello(_parse(TrelloBoard, data))
    raise _bad(("format",), f"Neither a {EXPORT_FORMAT} export nor a Trello board JSON export.")


def _check_blocks_acyclic(plan: Plan) -> None:
    edges: dict[str, list[str]] = {}
    for kind, source, target in plan.relations:
        if kind == "blocks":
            edges.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        stack = [(start, iter(edges.get(start, ())))]
        if state.get(start):
            continue
        state[start] = 1
        while stack:
            node, following = stack[-1]
            step = next(following, None)
            if step is None:
                state[node] = 2
                stack.pop()
            elif state.get(step) == 1:
                raise _bad(("relations",), "The `blocks` relations form a cycle.")
            elif not state.get(step):
                state[step] = 1
                stack.append((step, iter(edges.get(step, ()))))


def _from_export(file: ProjectFile) -> Plan:
    label_keys = {str(label.id) for label in file.labels}
    names: set[str] = set()
    for i, label in enumerate(file.labels):
        if label.name.lower() in names:
            raise _bad(("labels", i, "name"), "Label names must be unique.")
        names.add(label.name.lower())
    by_key = {str(task.id): task for task in file.tasks}
    if len(by_key) != len(file.tasks):
        raise _bad(("tasks",), "Task ids must be unique.")
    plan = Plan(
        file.project.name,
        file.project.description,
        labels=[(str(label.id), label.name, label.color) for label in file.labels],
    )
    subtasks: list[PlannedTask] = []
    for i, task in enumerate(file.tasks):
        parent = str(task.parent_id) if task.parent_id else None
        if parent is not None:
            if parent not in by_key:
                raise _bad(("tasks", i, "parent_id"), "No task with this id in the file.")
            if by_key[parent].parent_id is not None or parent == str(task.id):
                raise _bad(("tasks", i, "parent_id"), "Subtasks are one level deep.")
        for j, label_id in enumerate(task.label_ids):
            if str(label_id) not in label_keys:
                raise _bad(("tasks", i, "label_ids", j), "No label with this id in the file.")
        planned = PlannedTask(
            str(task.id),
            task.title,
            task.description,
            task.status,
            task.priority,
            task.due_at,
            parent,
            task.recurrence,
            list(dict.fromkeys(map(str, task.label_ids))),
            task.remind_at,
        )
        (plan.tasks if parent is None else subtasks).append(planned)
    plan.tasks += subtasks
    for i, rel in enumerate(file.relations):
        for end in ("source_id", "target_id"):
            if str(getattr(rel, end)) not in by_key:
                raise _bad(("relations", i, end), "No task with this id in the file.")
        if rel.source_id == rel.target_id:
            raise _bad(("relations", i, "target_id"), "A task cannot relate to itself.")
        plan.relations.append((rel.kind, str(rel.source_id), str(rel.target_id)))
    if len(set(plan.relations)) != len(plan.relations):
        raise _bad(("relations",), "A relation is listed twice.")
    _check_blocks_acyclic(plan)
    for i, comment in enumerate(file.comments):
        if str(comment.task_id) not in by_key:
            raise _bad(("comments", i, "task_id"), "No task with this id in the file.")
        plan.comments.append((str(comment.task_id), comment.body, comment.created_at))
    return plan


# Trello's label colours (and their _dark / _light variants) as the #rrggbb labels need.
_TRELLO_COLORS = {
    "green": "#61bd4f",
    "yellow": "#f2d600",
    "orange": "#ff9f1a",
    "red": "#eb5a46",
    "purple": "#c377e0",
    "blue": "#0079bf",
    "sky": "#00c2e0",
    "lime": "#51e898",
    "pink": "#ff78cb",
    "black": "#344563",
}
_DONE_WORDS = ("done", "complete", "finished", "closed", "erledigt")
_DOING_WORDS = ("doing", "progress", "review", "active", "started")


def _list_statuses(lists: list[TrelloList]) -> dict[str, str]:
    """Lists map to a column by name, else by position (first todo, last done)."""
    ordered = sorted((lst for lst in lists if not lst.closed), key=lambda lst: lst.pos)
    statuses: dict[str, str] = {}
    for index, lst in enumerate(ordered):
        name = lst.name.lower()
        if any(word in name for word in _DONE_WORDS):
            statuses[lst.id] = "done"
        elif any(word in name for word in _DOING_WORDS):
            statuses[lst.id] = "in_progress"
        elif index == len(ordered) - 1 and index > 0 and "todo" not in name.replace(" ", ""):
            statuses[lst.id] = "done"
        elif index == 0 or "todo" in name.replace(" ", "") or "backlog" in name:
            statuses[lst.id] = "todo"
        else:
            statuses[lst.id] = "in_progress"
    return statuses


def _title(text: str) -> str:
    return " ".join(text.split())[:200] or "(untitled)"


def _from_trello(board: TrelloBoard) -> Plan:
    plan = Plan(_title(board.name)[:100], board.desc[:2000])
    all_lists = {lst.id for lst in board.lists}
    statuses = _list_statuses(board.lists)
    label_names: set[str] = set()
    for label in board.labels:
        base = (label.name or label.color or "label").strip()[:44] or "label"
        name, n = base, 1
        while name.lower() in label_names:
            n += 1
            name = f"{base} {n}"
        label_names.add(name.lower())
        color = _TRELLO_COLORS.get((label.color or "").split("_")[0], "#b3bac5")
        plan.labels.append((label.id, name, color))
    label_keys = {label.id for label in board.labels}
    for i, card in enumerate(board.cards):
        if card.idList not in all_lists:
            raise _bad(("cards", i, "idList"), "No list with this id in the board.")
    all_cards = {card.id for card in board.cards}
    cards: dict[str, str] = {}  # imported card id -> its status
    for card in sorted(board.cards, key=lambda c: c.pos):
        if card.closed or card.idList not in statuses:
            continue  # archived, or in an archived list
        cards[card.id] = statuses[card.idList]
        plan.tasks.append(
            PlannedTask(
                card.id,
                _title(card.name),
                card.desc[:20000],
                statuses[card.idList],
                due_at=card.due,
                label_keys=[key for key in dict.fromkeys(card.idLabels) if key in label_keys],
            )
        )
    for i, checklist in enumerate(board.checklists):
        if checklist.idCard not in all_cards:
            raise _bad(("checklists", i, "idCard"), "No card with this id in the board.")
        if checklist.idCard not in cards:
            continue
        for j, item in enumerate(sorted(checklist.checkItems, key=lambda it: it.pos)):
            plan.tasks.append(
                PlannedTask(
                    f"{checklist.id}:{j}",
                    _title(item.name),
                    status="done" if item.state == "complete" else "todo",
                    parent_key=checklist.idCard,
                )
            )
    for i, action in enumerate(board.actions):
        if action.type != "commentCard":
            continue
        data = _parse(TrelloCommentData, action.data, ("actions", i, "data"))
        if data.card.id in cards and data.text.strip():
            plan.comments.append((data.card.id, data.text[:10000], action.date))
    return plan
