"""Projects: what the window was showing, saved as a small human-readable JSON file (``.mmstudio``).

A project records what to re-open and how to look at it — the sources, the model, the projection
parameters, the colouring (with each category value's colour, so a value keeps it when the project is
reopened or data is added), the selection, the named subsets (each a colour and its (sample id,
modality) members), the query, each panel's settings and the window layout —
not the embeddings themselves, which come back from the embedding cache. Sources under the
project's folder are stored relative to it, so a folder moved or copied elsewhere (with its media)
still opens; sources that no longer exist are reported and the rest kept.

Saving is atomic (see :mod:`mmstudio.core.atomic`): a crash or a kill while saving leaves the
previous file whole. Keys this version does not know (written by a newer mmstudio of the same
format) are kept and written back; a newer *format* is refused with a message saying so.

Recovery: the window calls :func:`autosave` on a timer; after a crash :func:`load_recovery` finds
the last autosave and the window offers to restore it; :func:`clear_recovery` after a clean exit.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import time
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePath

from mmstudio.core.atomic import atomic_write_text
from mmstudio.core.paths import leaves_folder
from mmstudio.core.subsets import Subset

FORMAT = "mmstudio-project"
FORMAT_VERSION = 1
SUFFIX = ".mmstudio"


class ProjectError(Exception):
    """A project file that cannot be read or written: the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


@dataclass
class Projection:
    """The 2-D layout's parameters (the keys of ``Workspace.projection``)."""

    method: str = "umap"            # "umap" or "pca"
    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "cosine"
    seed: int | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}


@dataclass
class Colouring:
    colour_by: str = "modality"     # "modality", "label" or a metadata column
    hidden_modalities: list[str] = field(default_factory=list)
    link_samples: bool = False
    categories: dict[str, dict[str, str]] = field(default_factory=dict)  # column → value → "#rrggbb"
    extra: dict = field(default_factory=dict)


@dataclass
class Project:
    sources: list[str] = field(default_factory=list)     # absolute paths in memory; relative on disk when below
    model: str = "builtin"
    device: str = "auto"
    precision: str = "auto"
    projection: Projection = field(default_factory=Projection)
    colouring: Colouring = field(default_factory=Colouring)
    selection: list[tuple[str, str]] = field(default_factory=list)  # (sample id, modality); "" = every modality
    subsets: dict[str, Subset] = field(default_factory=dict)        # name → colour and members (as the selection)
    query: str = ""
    panels: dict[str, dict] = field(default_factory=dict)  # panel name -> its JSON-able settings
    window_state: str = ""          # base64 of QMainWindow.saveState(); opaque here
    missing_sources: list[str] = field(default_factory=list)  # sources not found on load; written back on save
    version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)              # unknown keys, kept on round trip

    def __post_init__(self):
        self.sources = [os.path.abspath(s) for s in self.sources]
        self.missing_sources = [os.path.abspath(s) for s in self.missing_sources]
        self.selection = [_selection_item(item, None) for item in self.selection]


# ---------------------------------------------------------------------- to and from JSON
# (key, type check, what to say) for the plain fields of each section; missing keys take the default
_TEXT = (lambda v: isinstance(v, str), "a string")
_INT = (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
_NUMBER = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_OPT_INT = (lambda v: v is None or _INT[0](v), "an integer or null")
_TEXTS = (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings")
_OBJECT = (lambda v: isinstance(v, dict), "an object")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_CATEGORIES = (lambda v: isinstance(v, dict) and all(isinstance(c, dict) and all(
    isinstance(x, str) and _HEX.fullmatch(x) for x in c.values()) for c in v.values()),
    'an object of columns, each an object of values and "#rrggbb" colours')

PROJECTION_KEYS = {"method": _TEXT, "n_neighbors": _INT, "min_dist": _NUMBER, "metric": _TEXT, "seed": _OPT_INT}
COLOURING_KEYS = {"colour_by": _TEXT, "hidden_modalities": _TEXTS, "link_samples": _BOOL, "categories": _CATEGORIES}
PROJECT_KEYS = {"model": _TEXT, "device": _TEXT, "precision": _TEXT, "query": _TEXT, "window_state": _TEXT}


def _one_of(*choices):
    return (lambda v: v in choices, " or ".join(json.dumps(c) for c in choices))


# (key, value check, what to say) once the type is right: a project names values the window can use
VALUES = {
    "projection.method": _one_of("umap", "pca"),
    "projection.n_neighbors": (lambda v: v >= 2, "2 or more"),
    "projection.min_dist": (lambda v: math.isfinite(v) and 0 <= v <= 1, "from 0 to 1"),
    "projection.metric": _one_of("cosine", "euclidean"),
    "projection.seed": (lambda v: v is None or v >= 0, "null or 0 or more"),
    "colouring.hidden_modalities": (lambda v: all(m in ("image", "audio", "text") for m in v),
                                    'a list of "image", "audio" or "text"'),
    "model": (lambda v: bool(v.strip()), "a model name"),
    "device": (lambda v: re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v) is not None,
               '"auto", "cpu", "cuda", "cuda:N" or "mps"'),
    "precision": _one_of("auto", "fp32", "fp16", "bf16"),
}


def project_to_dict(project: Project, base=None) -> dict:
    """The JSON object of a project file; sources below ``base`` (the project's folder) become relative."""
    data = dict(project.extra)
    data.update({
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "sources": [_portable(s, base) for s in [*project.sources, *project.missing_sources]],
        "model": project.model,
        "device": project.device,
        "precision": project.precision,
        "projection": {**project.projection.extra, **project.projection.as_dict()},
        "colouring": {**project.colouring.extra, "colour_by": project.colouring.colour_by,
                      "hidden_modalities": list(project.colouring.hidden_modalities),
                      "link_samples": project.colouring.link_samples,
                      "categories": {column: dict(colours) for column, colours in project.colouring.categories.items()}},
        "selection": _members_json(project.selection),
        "subsets": {name: {"colour": s.colour, "members": _members_json(s.members)}
                    for name, s in project.subsets.items()},
        "query": project.query,
        "panels": {name: _panel_paths(settings, lambda path: _portable(path, base))
                   for name, settings in project.panels.items()},
        "window_state": project.window_state,
    })
    return data


def project_from_dict(data, base=None, where=None) -> tuple[Project, list[str]]:
    """A project from its JSON object, and the problems found (``missing: PATH`` per lost source, a
    note when the window layout cannot be restored).

    Relative sources resolve against ``base``; ``where`` names the file in error messages.
    """
    if not isinstance(data, dict):
        raise ProjectError(where, f"not an mmstudio project (a JSON object expected, found {_json_type(data)})")
    if data.get("format") != FORMAT:
        raise ProjectError(where, f'not an mmstudio project (no "format": "{FORMAT}")')
    version = data.get("version")
    if not _INT[0](version) or version < 1:
        raise ProjectError(where, f"version must be a positive integer, not {version!r}")
    if version > FORMAT_VERSION:
        raise ProjectError(where, f"written by a newer mmstudio (project format {version}); this mmstudio reads "
                                  f"format {FORMAT_VERSION} and older — update mmstudio to open it")
    sources = _checked(data, "sources", _TEXTS, [], where)
    projection = _section(data, "projection", PROJECTION_KEYS, Projection, where)
    colouring = _section(data, "colouring", COLOURING_KEYS, Colouring, where)
    panels = _checked(data, "panels", _OBJECT, {}, where)
    for name, settings in panels.items():
        if not isinstance(settings, dict):
            raise ProjectError(where, f"panels.{name} must be an object, not {_json_type(settings)}")
    selection = _checked(data, "selection", (lambda v: isinstance(v, list), "a list"), [], where)
    subsets = _subsets(_checked(data, "subsets", _OBJECT, {}, where), where)
    known = {"format", "version", "sources", "projection", "colouring", "panels", "selection", "subsets", *PROJECT_KEYS}
    project = Project(
        projection=projection, colouring=colouring,
        panels={k: _panel_paths(v, lambda path: _resolve(path, base)) for k, v in panels.items()},
        selection=[_selection_item(item, where) for item in selection], subsets=subsets, version=version,
        extra={k: v for k, v in data.items() if k not in known},
        **{key: _checked(data, key, check, getattr(Project, key), where) for key, check in PROJECT_KEYS.items()},
    )
    problems = []
    note = _window_state_problem(project.window_state)
    if note:
        project.window_state = ""
        problems.append(note)
    for source in sources:
        if leaves_folder(source) and not os.path.isabs(source):  # absolute: how sources elsewhere are saved
            problems.append(f"outside the project's folder, opened anyway: {source}")
        resolved = _resolve(source, base)
        if os.path.exists(resolved):
            project.sources.append(resolved)
        else:
            project.missing_sources.append(resolved)
            problems.append(f"missing: {resolved}")
    return project, problems


def _checked(data: dict, key: str, check, default, where, prefix: str = ""):
    if key not in data:
        return default
    value = data[key]
    for test, wanted in (check, VALUES.get(prefix + key, (lambda v: True, ""))):
        if not test(value):
            raise ProjectError(where, f"{prefix}{key} must be {wanted}, not {json.dumps(value)[:60]}")
    return value


def _window_state_problem(state: str) -> str | None:
    """A note when ``window_state`` is not base64 (the project opens without its layout)."""
    try:
        base64.b64decode(state, validate=True)
    except (binascii.Error, ValueError):
        return "window_state is not valid base64: opened without the saved window layout"
    return None


def _section(data: dict, name: str, keys: dict, cls, where):
    section = _checked(data, name, _OBJECT, {}, where)
    defaults = cls()
    values = {key: _checked(section, key, check, getattr(defaults, key), where, prefix=f"{name}.")
              for key, check in keys.items()}
    if "hidden_modalities" in values:
        values["hidden_modalities"] = list(values["hidden_modalities"])
    if "categories" in values:
        values["categories"] = {column: dict(colours) for column, colours in values["categories"].items()}
    return cls(**values, extra={k: v for k, v in section.items() if k not in keys})


def _selection_item(item, where, what: str = "selection") -> tuple[str, str]:
    if isinstance(item, str):
        return (item, "")
    if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(x, str) for x in item):
        return (item[0], item[1])
    raise ProjectError(where, f"{what} entries must be a sample id or [sample id, modality], not {item!r}"[:200])


def _members_json(members) -> list:
    return [sample_id if not modality else [sample_id, modality] for sample_id, modality in members]


def _subsets(data: dict, where) -> dict[str, Subset]:
    """``subsets``: name → {"colour": "#rrggbb", "members": [sample id or [sample id, modality], …]}."""
    out = {}
    for name, entry in data.items():
        at = f"subsets.{name}"
        if not name.strip():
            raise ProjectError(where, "subsets must have names (found an empty one)")
        if not isinstance(entry, dict):
            raise ProjectError(where, f"{at} must be an object with a colour and members, not {_json_type(entry)}")
        colour, members = entry.get("colour"), entry.get("members")
        if not (isinstance(colour, str) and _HEX.fullmatch(colour)):
            raise ProjectError(where, f'{at}.colour must be "#rrggbb", not {json.dumps(colour)[:60]}')
        if not isinstance(members, list):
            raise ProjectError(where, f"{at}.members must be a list, not {json.dumps(members)[:60]}")
        out[name] = Subset(colour.lower(), [_selection_item(item, where, f"{at}.members") for item in members])
    return out


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _portable(source: str, base) -> str:
    """``source`` relative to ``base`` (with / separators) when it lies below it, else absolute."""
    absolute = os.path.abspath(source)
    if base is not None:
        folder = os.path.abspath(base)
        try:
            inside = os.path.commonpath([absolute, folder]) == folder
        except ValueError:  # another drive (Windows)
            inside = False
        if inside:
            return PurePath(os.path.relpath(absolute, folder)).as_posix()
    return absolute


PANEL_PATHS = ("table",)   # panel settings that name a file (the Compare panel's table B): kept as sources are


def _panel_paths(settings: dict, convert) -> dict:
    """A panel's settings with the files it names converted (relative to the project's folder when saved,
    resolved against it when read), so a project folder that moves keeps its comparison."""
    return {k: convert(v) if k in PANEL_PATHS and isinstance(v, str) and v else v for k, v in settings.items()}


def _resolve(source: str, base) -> str:
    path = os.path.expanduser(source)
    if not os.path.isabs(path) and base is not None:
        path = os.path.join(os.path.abspath(base), path)
    return os.path.normpath(os.path.abspath(path))


# ---------------------------------------------------------------------- files
def dumps_project(project: Project, base=None, where=None, **more) -> str:
    """The file's text: indented, keys sorted; ``more`` adds top-level keys (the recovery note)."""
    try:
        return json.dumps({**project_to_dict(project, base), **more}, indent=2, sort_keys=True,
                          ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:  # a panel setting that JSON cannot hold (an array, NaN…)
        raise ProjectError(where, f"cannot be saved: {exc}") from exc


def save_project(project: Project, path) -> Path:
    """Write the project atomically to ``path`` (the previous file stays whole if this fails midway)."""
    path = Path(path)
    text = dumps_project(project, base=path.parent, where=path)
    try:
        return atomic_write_text(path, text)
    except OSError as exc:
        raise ProjectError(path, f"cannot be saved: {exc.strerror or exc}") from exc


def load_project(path) -> tuple[Project, list[str]]:
    """The project at ``path`` and its problems (``missing: PATH`` per source that no longer exists)."""
    path = Path(path)
    data = _read_json(path)
    return project_from_dict(data, base=path.parent, where=path)


def _read_json(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(path, "no such file") from None
    except UnicodeDecodeError:
        raise ProjectError(path, "not a project (not UTF-8 text)") from None
    except OSError as exc:
        raise ProjectError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


# ---------------------------------------------------------------------- recovery
@dataclass
class Recovery:
    """The last autosave: the project, its problems, the project file it came from (if any) and when."""

    project: Project
    problems: list[str]
    origin: Path | None
    saved_at: float


def recovery_path() -> Path:
    from mmstudio.core.paths import cache_dir

    return cache_dir() / "recovery" / f"autosave{SUFFIX}"


def autosave(project: Project, origin=None) -> Path:
    """Write the recovery file atomically; ``origin`` is the project file being edited (None when unsaved)."""
    path = recovery_path()
    note = {"origin": None if origin is None else os.path.abspath(origin), "saved_at": time.time()}
    text = dumps_project(project, base=None, where=path, recovery=note)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_text(path, text)
    except OSError as exc:
        raise ProjectError(path, f"cannot be saved: {exc.strerror or exc}") from exc


def load_recovery() -> Recovery | None:
    """The last autosave, or None when there is none (or it cannot be read: nothing to offer)."""
    path = recovery_path()
    try:
        data = _read_json(path)
        info = data.get("recovery") if isinstance(data, dict) else None
        project, problems = project_from_dict(data, base=None, where=path)
    except ProjectError:
        return None
    project.extra.pop("recovery", None)
    info = info if isinstance(info, dict) else {}
    origin = info.get("origin")
    saved_at = info.get("saved_at")
    return Recovery(project, problems, Path(origin) if isinstance(origin, str) else None,
                    float(saved_at) if _NUMBER[0](saved_at) else path.stat().st_mtime)


def clear_recovery() -> None:
    """Remove the autosave; a cache folder that cannot be reached holds none to remove."""
    try:
        recovery_path().unlink(missing_ok=True)
    except OSError:
        pass


# ---------------------------------------------------------------------- selection <-> table rows
def selection_from_rows(sample_ids, modalities, rows) -> list[tuple[str, str]]:
    """The (sample id, modality) of each selected row of a table (``table.sample_id``, ``table.modality``)."""
    return [(str(sample_ids[r]), str(modalities[r])) for r in rows]


def rows_from_selection(sample_ids, modalities, selection) -> list[int]:
    """The rows of a table that a saved selection names; items no longer there are skipped."""
    wanted = {(s, m) for s, m in selection if m}
    whole = {s for s, m in selection if not m}
    return [i for i, (s, m) in enumerate(zip(sample_ids, modalities))
            if (str(s), str(m)) in wanted or str(s) in whole]
