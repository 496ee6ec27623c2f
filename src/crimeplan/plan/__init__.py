"""Plans as data: load a plan file (YAML), validated, with errors that name the line and field.

    >>> from crimeplan.plan import load_plan
    >>> plan = load_plan()                      # the London Police and Crime Plan 2022-25, shipped with crimeplan
    >>> plan.priorities[0].title
    'Reducing and preventing violence'
"""

from __future__ import annotations

import weakref
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crimeplan.errors import CrimeplanError
from crimeplan.plan.schema import Measure, Plan, _source_kinds

LONDON_PLAN = "london.yaml"
# libyaml's loader when PyYAML was built with it (it is in the wheels): several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PlanError(CrimeplanError):
    """A plan (or claims) file that does not follow its schema; lists every problem found."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(f"{file} is not a valid plan file:\n" + "\n".join(f"  - {p}" for p in problems))


def load_plan(path: str | Path | None = None) -> Plan:
    """The plan in ``path`` (a file, or the name of a shipped plan: 'merseyside'), or the London plan."""
    return parse_plan(*read_file(plan_path(path), LONDON_PLAN, "plan"))


def shipped_plans() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in resources.files("crimeplan.plan").iterdir()
                  if p.name.endswith(".yaml") and not p.name.endswith("_claims.yaml") and p.name != "harm_map.yaml")


def plan_path(path: str | Path | None) -> Path | None:
    """A plan file: ``path`` itself, or the shipped plan it names ('merseyside'); None stays None (London)."""
    if path is None or Path(path).exists() or Path(path).suffix:
        return None if path is None else Path(path)
    shipped = resources.files("crimeplan.plan").joinpath(f"{path}.yaml")
    if not shipped.is_file():
        raise CrimeplanError(f"no plan file {str(path)!r}, and no shipped plan of that name; shipped: "
                             f"{', '.join(shipped_plans())}")
    return Path(str(shipped))


def read_file(path: str | Path | None, shipped: str, what: str) -> tuple[str, str]:
    """(text, name) of ``path``, or of the file ``shipped`` beside the London plan when ``path`` is None.

    ``what`` names the kind of file in the error when it cannot be read ("plan", "claims").
    """
    if path is None:
        return resources.files("crimeplan.plan").joinpath(shipped).read_text(encoding="utf-8"), f"crimeplan/plan/{shipped}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrimeplanError(f"{path}: cannot read the {what} file ({exc})") from exc
    return text, str(path)


def parse_plan(text: str, name: str = "<plan>") -> Plan:
    data, lines = load_yaml_with_lines(text, name, PlanError)
    if not isinstance(data, dict):
        raise PlanError(name, ["line 1: expected a mapping of plan fields (id, title, priorities, measures, …)"])
    problems = reference_problems(data, lines)
    if problems:
        raise PlanError(name, problems)
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(name, describe_errors(exc, data, lines)) from None
    _remember_origin(plan, name, lines)
    return plan


# Where each plan read from a file came from: (file name, line of each path), by id(plan), kept
# while the plan lives. Beside the plan, not in it: a Plan is the file's content, and two plans
# read from different files with the same content are equal.
_ORIGINS: dict[int, tuple[str, dict[tuple, int]]] = {}


def _remember_origin(plan: Plan, name: str, lines: dict[tuple, int]) -> None:
    key = id(plan)
    _ORIGINS[key] = (name, lines)
    weakref.finalize(plan, _ORIGINS.pop, key, None)


def plan_origin(plan: Plan) -> tuple[str, dict[tuple, int]] | None:
    """(file name, line of each path) of a plan read by :func:`load_plan` or :func:`parse_plan`; None otherwise.

    The lines are by path as in :func:`load_yaml_with_lines`: ``("measures", 3, "sources", 0, "scheme")``.
    """
    return _ORIGINS.get(id(plan))


def reference_problems(data: dict, lines: dict[tuple, int]) -> list[str]:
    """Cross-references the schema cannot place (unknown or unused measures, datasets, baselines), located.

    Defensive about shape: anything malformed is left for the schema to report.
    """
    problems: list[str] = []

    def at(path: tuple, message: str) -> None:
        problems.append(f"line {_line(lines, path)}, field {field_label(data, path)}: {message}")

    measures = data.get("measures") if isinstance(data.get("measures"), list) else []
    seen: dict[str, int] = {}
    for i, m in enumerate(measures):
        if not isinstance(m, dict):
            continue
        mid = m.get("id")
        if isinstance(mid, str):
            if mid in seen:
                at(("measures", i), f"measure ids must be unique; repeated: {mid} (first declared as measures[{seen[mid]}])")
            seen.setdefault(mid, i)
        for j, source in enumerate(m.get("sources") or [] if isinstance(m.get("sources"), list) else []):
            if isinstance(source, dict) and "kind" not in source and "publisher" not in source:
                dataset = source.get("dataset")
                kinds = _source_kinds()
                if dataset not in kinds:
                    at(("measures", i, "sources", j, "dataset"),
                       f"unknown dataset {dataset!r}; expected one of {', '.join(sorted(kinds))}, "
                       "or a dataset with no loaded data, declared with its publisher")
    used: set[str] = set()
    for i, p in enumerate(data.get("priorities") or [] if isinstance(data.get("priorities"), list) else []):
        if not isinstance(p, dict) or not isinstance(p.get("objectives"), list):
            continue
        for j, o in enumerate(p["objectives"]):
            if not isinstance(o, dict) or not isinstance(o.get("measures"), list):
                continue
            names = [x for x in o["measures"] if isinstance(x, str)]
            used.update(names)
            unknown = [x for x in names if x not in seen]
            if unknown:
                at(("priorities", i, "objectives", j, "measures"),
                   f"objective {o.get('id')!r} of priority {p.get('id')!r} names measures that are not declared: "
                   f"{', '.join(unknown)}")
    for mid, i in seen.items():
        if data.get("priorities") and mid not in used:
            at(("measures", i), f"measures declared but in no objective: {mid}")
    baselines = data.get("baselines") if isinstance(data.get("baselines"), list) else []
    ids = {b.get("id") for b in baselines if isinstance(b, dict)}
    if "default_baseline" in data and ids and data["default_baseline"] not in ids:
        at(("default_baseline",), f"default_baseline {data['default_baseline']!r} is not one of the baselines")
    return problems


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    return next((lines[path[:i]] for i in range(len(path), -1, -1) if path[:i] in lines), None)


def field_label(data: Any, path: tuple) -> str:
    """'measures[3] (rape).sources[0].scheme': list items named by their id where they have one."""
    shown: list[str] = []
    node = data
    for part in path:
        node = node[part] if isinstance(node, (dict, list)) else None
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                label += f" ({node['id']})"
            shown.append(label)
        else:
            shown.append(("." if shown else "") + str(part))
    return "".join(shown) or "(top level)"


MAX_NODES = 100_000  # a plan or claims file expands to a few thousand; aliases nested eight deep, to billions
MAX_DEPTH = 64


def _check_size(node: yaml.Node, name: str, error: type[PlanError]) -> None:
    """Refuse a document whose aliases expand beyond MAX_NODES nodes, or nested beyond MAX_DEPTH, before it is built.

    A 400-byte file of anchors and aliases (a 'billion laughs') is small as written and
    enormous once expanded; the size of the expansion is counted over the node graph with
    each shared node counted once per use, memoised, so the count itself stays cheap.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        n, depth, done = stack.pop()
        if depth > MAX_DEPTH:
            raise error(name, [f"line {n.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels"])
        children = ([c for pair in n.value for c in pair] if isinstance(n, yaml.MappingNode)
                    else list(n.value) if isinstance(n, yaml.SequenceNode) else [])
        if id(n) in sizes:
            continue
        if done or not children:
            sizes[id(n)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            if sizes[id(n)] > MAX_NODES:
                raise error(name, [f"not read: its aliases expand beyond {MAX_NODES:,} nodes (line "
                                   f"{n.start_mark.line + 1}); a plan or claims file needs a few thousand"])
            continue
        stack.append((n, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


def load_yaml_with_lines(
    text: str, name: str, error: type[PlanError] = PlanError, texts: dict[tuple, str] | None = None
) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML, also returning the line each mapping key or list item starts on, by path.

    ``texts``, when given, is filled with each scalar's text exactly as written, by path (YAML
    would turn '-13.0' into -13.0 and lose the '.0').
    """
    try:
        loader = _LOADER(text)  # one pass: the nodes (for lines and texts), then the data built from them
        try:
            try:
                node = loader.get_single_node()
            except RecursionError:
                raise error(name, [f"not read: nested too deeply (at most {MAX_DEPTH} levels)"]) from None
            if node is not None:
                _check_size(node, name, error)
            try:
                data = loader.construct_document(node) if node is not None else None
            except (ValueError, OverflowError) as exc:  # a date-like scalar that is no date: 2021-13-45
                bad = _unconstructable_scalar(loader, node)
                where = f"line {bad.start_mark.line + 1}: " if bad is not None else ""
                shown = f"{bad.value!r} " if bad is not None else ""
                raise error(name, [f"{where}not valid YAML (the value {shown}cannot be read: {exc})"]) from None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise error(name, [f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    lines: dict[tuple, int] = {}

    def walk(n: yaml.Node, path: tuple) -> None:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                walk(value, path + (key.value,))
                lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, path + (i,))
        elif texts is not None and isinstance(n, yaml.ScalarNode):
            texts[path] = n.value

    if node is not None:
        walk(node, ())
    return data, lines


def _unconstructable_scalar(loader, node: yaml.Node) -> yaml.ScalarNode | None:
    """The first scalar under ``node`` that the loader cannot turn into a value."""
    if isinstance(node, yaml.ScalarNode):
        construct = loader.yaml_constructors.get(node.tag)
        try:
            if construct is not None:
                construct(loader, node)
        except (ValueError, OverflowError):
            return node
        return None
    children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
    return next((bad for child in children if (bad := _unconstructable_scalar(loader, child)) is not None), None)


def describe_errors(exc: ValidationError, data: Any, lines: dict[tuple, int]) -> list[str]:
    """Pydantic's errors as 'line N, field measures[3] (rape).sources[0].scheme: problem'."""
    problems = []
    for err in exc.errors():
        path: list = []
        node = data
        for part in err["loc"]:
            # Discriminated unions add the tag ('recorded_crime') to the location: not in the file.
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                continue
            path.append(part)
        line = _line(lines, tuple(path))
        field = field_label(data, tuple(path))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = f"missing {err['loc'][-1]!r}; it is required"
        elif err["type"] == "extra_forbidden":
            message = f"unknown field {err['loc'][-1]!r}"
        problems.append(f"line {line}, field {field}: {message}" if line else f"field {field}: {message}")
    return problems


__all__ = ["Measure", "Plan", "PlanError", "load_plan", "parse_plan", "plan_origin"]
