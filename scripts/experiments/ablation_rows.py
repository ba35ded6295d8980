"""The ablation rows as data: read, resolve, extend and tabulate ``ablation_rows.toml``.

A row is a table of the ``rows`` array:

- ``name``, ``help`` (what it changes) and optionally ``parent``: a row with a parent inherits its
  ``train`` and ``data`` settings and lists only what it changes (its ``runs`` are its own).
- ``train``: scripts/train.py flags without the dashes (``learning_rate = 0.008``). What a row
  does not pin follows train.py's defaults, `modeling.training.recipe.RECIPE`; rows measured
  under older defaults pin every recipe field, so they rerun as measured whatever it becomes.
- ``data``: the training table, built by scripts/build_training_set.py: ``sources`` (its
  ``--sources``), ``mined_negatives`` (its ``--negatives``: BM25 negatives stored per query) and
  ``teacher`` (its ``--teacher minilm`` vectors, passed to train.py as ``--teacher_file``).
  Unset fields take that script's defaults, which are `make train`'s.
- ``runs``: the figures measured so far, one table per run (``seed``, the `FIGURES`,
  ``train_s`` and notes); a figure that was not recorded is absent.

The file is rewritten from the data when a run is appended (`dump`): its leading comment block is
kept, other comments are not (notes belong in ``help`` or a run's ``note``).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROWS_FILE = Path(__file__).resolve().with_name("ablation_rows.toml")
# The figures of a run and the evaluation keys they come from.
# "part:" keys are one part of the score (`modeling.evaluation.runner.PARTS`) or the model fused
# with BM25 (reciprocal rank fusion, or z-scores: `modeling.evaluation.runner.FUSIONS`); SciFact
# (BEIR, out of domain) is scored where it is present.
FIGURES = {
    "dev600_rerank_mrr10": "dev600-rerank/MRR@10",
    "dl19_pool_ndcg10": "dl19-pool/nDCG@10",
    "dev600_retrieve_r100": "dev600-retrieve/R@100",
    "scifact_ndcg10": "scifact-train/nDCG@10",
    "scifact_fused_ndcg10": "fused:scifact-train/nDCG@10",
    "scifact_zfused_ndcg10": "zfused:scifact-train/nDCG@10",
    "scifact_pooled_ndcg10": "pooled:scifact-train/nDCG@10",
    "scifact_lexical_ndcg10": "lexical:scifact-train/nDCG@10",
}
HEADERS = (
    "dev600-rerank MRR@10", "DL19-pool nDCG@10", "dev600-retrieve R@100", "SciFact nDCG@10",
    "SciFact + BM25 (RRF)", "SciFact + BM25 (z-score)", "SciFact pooled part",
    "SciFact lexical part",
)  # fmt: skip
DATA_FIELDS = ("sources", "mined_negatives", "teacher")
ROW_FIELDS = ("name", "help", "parent", "train", "data", "runs")
MARKERS = ("<!-- ablation:start -->", "<!-- ablation:end -->")


@dataclass
class Row:
    """One row as written in the file (unresolved: see `AblationRows.train_flags`)."""

    name: str
    help: str
    parent: str | None = None
    train: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)


@dataclass
class AblationRows:
    """Every row of a file, in file order, and the file's leading comment block."""

    rows: dict[str, Row]
    header: str = ""

    def __getitem__(self, name: str) -> Row:
        if name not in self.rows:
            raise ValueError(f"Unknown ablation row {name!r}; `ablate.py --list` shows them.")
        return self.rows[name]

    def chain(self, name: str) -> list[Row]:
        """The row and its ancestors, the root first."""
        chain, seen = [], set()
        while name is not None:
            if name in seen:
                raise ValueError(f"Ablation rows {sorted(seen)} name each other as parent.")
            seen.add(name)
            row = self[name]
            chain.append(row)
            name = row.parent
        return chain[::-1]

    def train_flags(self, name: str) -> dict:
        """The train.py flags the row pins, its parents' included (the row's own win)."""
        return {key: value for row in self.chain(name) for key, value in row.train.items()}

    def train_args(self, name: str) -> list[str]:
        """The row's pinned settings as train.py arguments (``--learning_rate 0.008 ...``)."""
        args = []
        for key, value in self.train_flags(name).items():
            args += [f"--{key}", _value(value) if isinstance(value, bool) else str(value)]
        return args

    def data(self, name: str) -> dict:
        """The row's data settings, its parents' included; unset ones are the script's defaults."""
        return {key: value for row in self.chain(name) for key, value in row.data.items()}


def load(path: str | Path = ROWS_FILE) -> AblationRows:
    """Reads and checks a rows file.

    Raises:
        ValueError: a row misses a name or help, has an unknown field or a list as a train flag,
            repeats a name or names an unknown parent.
    """
    text = Path(path).read_text()
    raw = tomllib.loads(text)
    rows: dict[str, Row] = {}
    for number, entry in enumerate(raw.get("rows", []), 1):
        unknown = set(entry) - set(ROW_FIELDS)
        if unknown or "name" not in entry or "help" not in entry:
            raise ValueError(
                f"{path}: row {number} ({entry.get('name', 'unnamed')}) needs a name and a help "
                f"and may only have {ROW_FIELDS}; found {sorted(entry)}."
            )
        bad_data = set(entry.get("data", {})) - set(DATA_FIELDS)
        if bad_data:
            raise ValueError(
                f"{path}: row {entry['name']}: data takes {DATA_FIELDS}, not {bad_data}."
            )
        lists = [key for key, value in entry.get("train", {}).items() if isinstance(value, list)]
        if lists:
            raise ValueError(f"{path}: row {entry['name']}: train flags take one value: {lists}.")
        if entry["name"] in rows:
            raise ValueError(f"{path}: two rows are named {entry['name']!r}; rename one.")
        rows[entry["name"]] = Row(**entry)
    table = AblationRows(rows, _leading_comments(text))
    for row in rows.values():
        table.chain(row.name)  # unknown parents and cycles fail here, not mid-run
    return table


def dump(table: AblationRows, path: str | Path = ROWS_FILE) -> None:
    """Writes the rows back, the header first; `load` reads back the same rows."""
    lines = [table.header] if table.header else []
    for row in table.rows.values():
        lines += ["[[rows]]", f"name = {_value(row.name)}", f"help = {_value(row.help)}"]
        if row.parent is not None:
            lines.append(f"parent = {_value(row.parent)}")
        for section in ("train", "data"):
            values = getattr(row, section)
            if values:
                lines += [f"[rows.{section}]", *(f"{k} = {_value(v)}" for k, v in values.items())]
        for run in row.runs:
            lines += ["[[rows.runs]]", *(f"{k} = {_value(v)}" for k, v in run.items())]
        lines.append("")
    Path(path).write_text("\n".join(lines))


def append_run(path: str | Path, name: str, run: dict) -> None:
    """Adds one run's figures to a row of the file (earlier runs stay)."""
    table = load(path)
    table[name].runs.append(run)
    dump(table, path)


def render_table(table: AblationRows) -> str:
    """Markdown: one line per row with figures: mean ± standard deviation over its runs, n."""
    lines = [
        f"| row | change | n | {' | '.join(HEADERS)} | train time (s) |",
        "|---|---|---|" + "---|" * (len(HEADERS) + 1),
    ]
    for row in table.rows.values():
        if not row.runs:
            continue
        cells = [_summary([run.get(key) for run in row.runs], 3) for key in FIGURES]
        cells.append(_summary([run.get("train_s") for run in row.runs], 0))
        lines.append(f"| `{row.name}` | {row.help} | {len(row.runs)} | {' | '.join(cells)} |")
    return "\n".join(lines)


def render_into(path: str | Path, table: AblationRows, command: str) -> None:
    """Replaces what lies between the ablation markers of a markdown file with the table.

    Raises:
        ValueError: the file lacks a marker, or has them out of order.
    """
    text = Path(path).read_text()
    start, end = (text.find(marker) for marker in MARKERS)
    if start < 0 or end < start:
        raise ValueError(
            f"{path} needs the lines {MARKERS[0]} and then {MARKERS[1]} around the place of the "
            "ablation table; add them."
        )
    body = (
        f"Generated from scripts/experiments/ablation_rows.toml by `{command}`: mean ± standard "
        "deviation over a row's runs (n), rows without figures left out.\n\n" + render_table(table)
    )
    before, after = text[: start + len(MARKERS[0])], text[end:]
    Path(path).write_text(f"{before}\n{body}\n{after}")


def _summary(values: list, digits: int) -> str:
    values = [value for value in values if value is not None]
    if not values:
        return "–"
    mean = f"{statistics.fmean(values):,.{digits}f}"
    if len(values) == 1:
        return mean
    return f"{mean} ± {statistics.stdev(values):,.{digits}f}"


def _value(value) -> str:
    """A TOML literal of a str, bool, int, float or list of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's basic string's
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML has no {value}; record a finite figure or leave it out.")
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise ValueError(f"Cannot write {value!r} ({type(value).__name__}) to the rows file.")


def _leading_comments(text: str) -> str:
    match = re.match(r"(?:#[^\n]*\n|\n)*", text)
    return match.group(0).rstrip("\n") + "\n" if match and match.group(0).strip() else ""
