"""Documentation generated from the code: the OpenAPI spec and the README settings table.

    python -m taskmanager.docs_gen            # rewrite docs/openapi.json and the README block
    python -m taskmanager.docs_gen --check    # exit 1 if either is out of date

The README block sits between `<!-- settings-table:start -->` and
`<!-- settings-table:end -->`; only the lines between the markers are generated.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import annotated_types
from pydantic.fields import FieldInfo

from taskmanager.config import Settings

OPENAPI_PATH = Path("docs") / "openapi.json"
README_PATH = Path("README.md")
START_MARKER = "<!-- settings-table:start -->"
END_MARKER = "<!-- settings-table:end -->"
REGENERATE_HINT = "run `python -m taskmanager.docs_gen` to regenerate"

_BOUNDS: tuple[tuple[type[Any], str, str], ...] = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.MinLen, "min_length", "min length"),
    (annotated_types.MaxLen, "max_length", "max length"),
)


def _type_name(annotation: Any) -> str:
    """A short, stable, human spelling of a field's type (`str | None`, `list[str]`...)."""
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{arg}`" for arg in args)
    if origin is typing.Union or origin is types.UnionType:
        return " \\| ".join(_type_name(arg) for arg in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(arg) for arg in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _constraints(field: FieldInfo) -> str:
    parts: list[str] = []
    for item in field.metadata:
        for kind, attribute, symbol in _BOUNDS:
            if isinstance(item, kind):
                parts.append(f"{symbol} {getattr(item, attribute)}")
    return ", ".join(parts)


def _default_value(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        factory = typing.cast(typing.Callable[[], Any], field.default_factory)
        return factory()
    return field.default


def _format_default(field: FieldInfo) -> str:
    if field.is_required():
        return "*required*"
    value = _default_value(field)
    if value is None:
        return "*unset*"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Enum):
        text = str(value.value)
    elif isinstance(value, PurePath):
        text = str(value)
        if not value.is_absolute() and not text.startswith("."):
            text = f"./{text}"
    elif isinstance(value, list | tuple | dict):
        text = json.dumps(value)
    else:
        text = str(value)
    return f"`{text}`"


def _env_name(name: str, field: FieldInfo) -> str:
    if isinstance(field.validation_alias, str):
        return field.validation_alias.upper()
    if isinstance(field.alias, str):
        return field.alias.upper()
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{name}".upper()


def _cell(text: str) -> str:
    """One table cell: a single line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    """The Markdown table of every setting, straight from `Settings.model_fields`."""
    lines = [
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        type_text = _type_name(field.annotation)
        bounds = _constraints(field)
        if bounds:
            type_text = f"{type_text} ({bounds})"
        description = _cell(field.description or "")
        lines.append(
            f"| `{_env_name(name, field)}` | {type_text} | {_format_default(field)} "
            f"| {description} |"
        )
    return "\n".join(lines) + "\n"


def openapi_json() -> str:
    """The app's OpenAPI spec, as `taskmanager openapi` prints it (indent 2, newline)."""
    from taskmanager.app import create_app

    settings = Settings(_env_file=None)
    return json.dumps(create_app(settings).openapi(), indent=2) + "\n"


class DocsError(Exception):
    """A generated document cannot be written or checked (e.g. README markers missing)."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    current: bool


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n")


def _readme_with_table(readme: str, table: str) -> str:
    start = readme.find(START_MARKER)
    end = readme.find(END_MARKER)
    if start == -1 or end == -1 or end < start:
        raise DocsError(
            f"{README_PATH} needs the markers {START_MARKER} and {END_MARKER} "
            "(in that order) around the settings table"
        )
    head = readme[: start + len(START_MARKER)]
    return f"{head}\n{table}{readme[end:]}"


def _read_readme(root: Path) -> str:
    path = root / README_PATH
    if not path.is_file():
        raise DocsError(
            f"{path} does not exist; it needs a settings section with the markers "
            f"{START_MARKER} and {END_MARKER}"
        )
    return _normalise(path.read_text(encoding="utf-8"))


def check(root: Path) -> list[str]:
    """What is out of date under `root`, one line each; empty when all is current."""
    problems: list[str] = []
    spec_path = root / OPENAPI_PATH
    if not spec_path.is_file():
        problems.append(f"{OPENAPI_PATH} is missing")
    elif _normalise(spec_path.read_text(encoding="utf-8")) != openapi_json():
        problems.append(f"{OPENAPI_PATH} is out of date{_spec_changes(spec_path)}")
    try:
        readme = _read_readme(root)
        if _readme_with_table(readme, settings_table()) != readme:
            problems.append(f"{README_PATH}: the settings table is out of date")
    except DocsError as exc:
        problems.append(str(exc))
    return problems


def _spec_changes(spec_path: Path) -> str:
    """A hint at what changed: paths added or removed (empty if only details changed)."""
    try:
        old = json.loads(spec_path.read_text(encoding="utf-8")).get("paths", {})
    except (ValueError, AttributeError):
        return " (not valid JSON)"
    new = json.loads(openapi_json()).get("paths", {})
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    hints = [f"new paths {added}"] if added else []
    hints += [f"removed paths {removed}"] if removed else []
    return f" ({'; '.join(hints)})" if hints else ""


def write(root: Path) -> list[Outcome]:
    """Rewrite both documents under `root`; raises DocsError if README lacks its markers."""
    outcomes: list[Outcome] = []
    spec_path = root / OPENAPI_PATH
    spec = openapi_json()
    current = spec_path.is_file() and _normalise(spec_path.read_text(encoding="utf-8")) == spec
    if not current:
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(spec, encoding="utf-8")
    outcomes.append(Outcome(spec_path, current))
    readme = _read_readme(root)
    updated = _readme_with_table(readme, settings_table())
    if updated != readme:
        (root / README_PATH).write_text(updated, encoding="utf-8")
    outcomes.append(Outcome(root / README_PATH, updated == readme))
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taskmanager.docs_gen",
        description="Regenerate (or with --check, verify) docs/openapi.json and the "
        "README settings table from the code.",
    )
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 if stale")
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="repository root (default: current dir)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.check:
        problems = check(root)
        for problem in problems:
            print(f"docs_gen: {problem}", file=sys.stderr)
        if problems:
            print(f"docs_gen: generated docs are out of date: {REGENERATE_HINT}", file=sys.stderr)
            return 1
        print("docs_gen: generated docs are up to date", file=sys.stderr)
        return 0
    try:
        outcomes = write(root)
    except DocsError as exc:
        print(f"docs_gen: {exc}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        state = "unchanged" if outcome.current else "written"
        print(f"docs_gen: {outcome.path.relative_to(root)} {state}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
