"""The validate stage on the real data, on good data written in many ways, and on a corpus of broken data.

Every broken variant is derived from the repository's contract (rows synthesised from it, one
file then broken in one way), so the corpus follows a fork's data with no edits. Each must be
stopped with the expected check, reported against the broken file, and never reported against
the other files' rows — on the files the data comes in and on the same rows as many small files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract, Params
from mlpipe.core import validation as v
from mlpipe.errors import ValidationFailed
from mlpipe.io.pipeline import PipelinePaths
from mlpipe.stages import validate as stage
from tests.datasets import (
    bounded_numeric,
    coded_feature,
    non_nullable_feature,
    numeric_feature,
    unknown_value,
    write_data,
)

pytestmark = pytest.mark.data
Check = tuple[str, str | None]
# (file name, frame content, specs) -> great-expectations' checks for that batch: a corpus case breaks
# one file, and the others' suites would otherwise run again, unchanged, in every case (a second each)
_GX_RUNS: dict[tuple[str | None, bytes, str], list[dict[str, Any]]] = {}


def _batch_key(label: str | None, df: pd.DataFrame, specs: list[Any]) -> tuple[str | None, bytes, str] | None:
    try:
        content = pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
        # pandas hashes text forms: 5 and "5", None and "None" would share a key without their types
        kinds = df[[c for c in df.columns if df[c].dtype == object]].map(lambda x: type(x).__name__)
        content += pd.util.hash_pandas_object(kinds, index=False).to_numpy().tobytes()
    except TypeError:  # a cell pandas cannot hash: run it
        return None
    shape = json.dumps([list(map(str, df.columns)), [str(t) for t in df.dtypes]])
    spec = json.dumps([[s.type, s.kwargs] for s in specs], sort_keys=True, default=repr)
    return label, shape.encode() + content, spec


@pytest.fixture(autouse=True)
def _gx_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """great-expectations runs once per distinct (file, content, suite) in this process: the stage's
    results are exactly what it would get (every batch a case changes runs for real)."""
    from mlpipe.io import gx

    def run_batches(batches: list[tuple[str | None, pd.DataFrame, list[Any]]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for batch in batches:
            key = _batch_key(*batch)
            if key is None or key not in _GX_RUNS:
                checks = gx.run_batches([batch])
                if key is None:
                    out.extend(checks)
                    continue
                _GX_RUNS[key] = checks
            out.extend(json.loads(json.dumps(_GX_RUNS[key])))  # a copy: the stage may edit its checks
        return out

    monkeypatch.setattr(stage, "run_batches", run_batches)


def failed(report: dict[str, Any]) -> set[Check]:
    return {(c["expectation"], c["column"]) for c in report["checks"] if not c["success"]}


def failed_files(report: dict[str, Any]) -> set[str | None]:
    return {c.get("file") for c in report["checks"] if not c["success"]}


def test_real_data_passes(paths: PipelinePaths, root: Path, contract: Contract, raw: pd.DataFrame) -> None:
    report = stage.validate(root / paths.data, contract)
    assert report["success"], [v.describe(c) for c in report["checks"] if not c["success"]]
    assert report["rows"] == len(raw) >= contract.min_rows
    assert sum(report["profile"]["files"].values()) == len(raw)


@pytest.mark.example
def test_example_data_profile(paths: PipelinePaths, root: Path) -> None:
    from mlpipe.io.files import load_config

    at = paths.under(root)
    _, contract = load_config(at.params, at.contract)
    report = stage.validate(at.data, contract)
    assert report["profile"]["files"] == {"acs_ma_2015.csv": 68785, "acs_ma_2016.csv": 69126}
    assert report["profile"]["columns"]["SEX"]["kind"] == "categorical"


# --------------------------------------------------------------------------- the broken-input corpus
# A variant gets (the data dir, the victim file, the contract) and breaks the victim in place; it
# returns the check that must fail. Checks on the stacked data (ids, row count, leakage) have no file.


def _frame(f: Path) -> pd.DataFrame:
    return pd.read_csv(f, dtype=str, keep_default_na=False)


def _save(df: pd.DataFrame, f: Path) -> None:
    df.to_csv(f, index=False, lineterminator="\n")


def _edit(f: Path, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    _save(fn(_frame(f)), f)


def _cells(col: str, value: Any, rows: slice = slice(0, 3)) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.index[rows], col] = str(value)
        return df

    return f


def _first_int_column(c: Contract) -> str:
    for name in [*c.features, c.id]:
        if c.columns[name].dtype == "int" and c.columns[name].labels is None:
            return name
    pytest.skip("no integer column without labels")


Variant = Callable[[Path, Path, Contract], Check]


def nulls(d: Path, f: Path, c: Contract) -> Check:
    name = non_nullable_feature(c)
    _edit(f, _cells(name, ""))
    return ("expect_column_values_to_not_be_null", name)


def unknown_category(d: Path, f: Path, c: Contract) -> Check:
    name, values = coded_feature(c)
    _edit(f, _cells(name, unknown_value(values)))
    return ("expect_column_values_to_be_in_set", name)


def above_max(d: Path, f: Path, c: Contract) -> Check:
    name, col = bounded_numeric(c)
    _edit(f, _cells(name, int(col.max or 0) + 1000))
    return ("expect_column_values_to_be_between", name)


def below_min(d: Path, f: Path, c: Contract) -> Check:
    for name in c.features:
        col = c.columns[name]
        if not col.categorical and col.min is not None:
            _edit(f, _cells(name, int(col.min) - 1000))
            return ("expect_column_values_to_be_between", name)
    pytest.skip("no numeric feature with a 'min'")


def text_in_numbers(d: Path, f: Path, c: Contract) -> Check:
    name = numeric_feature(c)
    _edit(f, _cells(name, "forty", slice(4, 5)))
    return (v.TYPE_CHECK, name)


def na_text_in_numbers(d: Path, f: Path, c: Contract) -> Check:
    name = numeric_feature(c)
    _edit(f, _cells(name, "N/A?", slice(1, 2)))
    return (v.TYPE_CHECK, name)


def whole_float_in_int(d: Path, f: Path, c: Contract) -> Check:
    name = _first_int_column(c)

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.index[2], name] = df.loc[df.index[2], name] + ".0"
        return df

    _edit(f, fn)
    return (v.TYPE_CHECK, name)


def id_beyond_int64(d: Path, f: Path, c: Contract) -> Check:
    """A whole number no 64-bit integer holds: it passed once, then broke prepare (or became a float).
    In the id when the contract's id is an int (a text id may be anything), else in an int column."""
    name = c.id if c.columns[c.id].dtype == "int" else _first_int_column(c)
    _edit(f, _cells(name, 2**63, slice(3, 4)))
    return (v.TYPE_CHECK, name)


def duplicate_ids_in_file(d: Path, f: Path, c: Contract) -> Check:
    def fn(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.index[1], c.id] = df.loc[df.index[0], c.id]
        return df

    _edit(f, fn)
    return ("expect_column_values_to_be_unique", c.id)


def duplicate_ids_across_files(d: Path, f: Path, c: Contract) -> Check:
    other = sorted(p for p in d.iterdir() if p != f)[0]
    first = _frame(other)[c.id].iloc[0]
    _edit(f, _cells(c.id, first, slice(0, 1)))
    return ("expect_column_values_to_be_unique", c.id)


def duplicate_rows(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, lambda df: pd.concat([df, df.head(5)], ignore_index=True))
    return ("expect_column_values_to_be_unique", c.id)


def copied_file(d: Path, f: Path, c: Contract) -> Check:
    (d / f"copy_of_{f.name}").write_bytes(f.read_bytes())
    return ("expect_column_values_to_be_unique", c.id)


def missing_column(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, lambda df: df.drop(columns=[c.features[-1]]))
    return (v.COLUMNS_CHECK, c.features[-1])


def extra_column(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, lambda df: df.assign(surprise="1"))
    return (v.COLUMNS_CHECK, "surprise")


def renamed_column(d: Path, f: Path, c: Contract) -> Check:
    name = c.features[0]
    _edit(f, lambda df: df.rename(columns={name: name + "_v2"}))
    return (v.COLUMNS_CHECK, f"{name},{name}_v2")


def leaked_target(d: Path, f: Path, c: Contract) -> Check:
    """A feature that is the target in disguise: valid values of the feature, one per class."""
    name, values = coded_feature(c)
    positive = str(c.positive).lower()
    _edit(f, lambda df: df.assign(**{name: [str(values[x.lower() == positive]) for x in df[c.target]]}))
    return ("expect_column_to_not_determine_target", name)


def empty_file(d: Path, f: Path, c: Contract) -> Check:
    f.write_bytes(b"")
    return (v.READ_CHECK, None)


def header_only(d: Path, f: Path, c: Contract) -> Check:
    f.write_text(f.read_text().splitlines()[0] + "\n")
    return (v.ROWS_CHECK, None)


def truncated(d: Path, f: Path, c: Contract) -> Check:
    content = f.read_bytes()
    cut = content.rfind(b",", 0, len(content) - 2)  # mid-row: after some fields of the last row
    f.write_bytes(content[:cut])
    return (v.TRUNCATED_CHECK, None)


def wrong_delimiter(d: Path, f: Path, c: Contract) -> Check:
    _frame(f).to_csv(f, index=False, sep=";", lineterminator="\n")
    return (v.COLUMNS_CHECK, None)


def binary_garbage(d: Path, f: Path, c: Contract) -> Check:
    f.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    return (v.READ_CHECK, None)


def utf16(d: Path, f: Path, c: Contract) -> Check:
    f.write_bytes(f.read_text().encode("utf-16"))
    return (v.READ_CHECK, None)


def ragged_row(d: Path, f: Path, c: Contract) -> Check:
    lines = f.read_text().splitlines()
    lines[3] += ",1,2,3"
    f.write_text("\n".join(lines) + "\n")
    return (v.READ_CHECK, None)


def short_row(d: Path, f: Path, c: Contract) -> Check:
    """A row missing its last fields in the middle of a file: pandas reads the gap as blanks."""
    rows = list(csv.reader(io.StringIO(f.read_text())))
    rows[3] = rows[3][:-2]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    f.write_text(out.getvalue())
    return (v.SHORT_ROWS_CHECK, None)


def constant_category(d: Path, f: Path, c: Contract) -> Check:
    name, _ = coded_feature(c)
    _edit(f, lambda df: df.assign(**{name: df[name].iloc[0]}))
    return (v.COLLAPSE_CHECK, name)


def constant_target(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, lambda df: df.assign(**{c.target: df[c.target].iloc[0]}))
    return (v.COLLAPSE_CHECK, c.target)


def tiny_file(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, lambda df: df.head(3))
    return (v.SMALL_CHECK, None)


def shifted_distribution(d: Path, f: Path, c: Contract) -> Check:
    name, col = bounded_numeric(c)

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        x = pd.to_numeric(df[name], errors="coerce")
        hi, lo = float(col.max or 0), float(col.min if col.min is not None else x.min())
        moved = (hi - (hi - lo) * 0.05 * np.random.default_rng(0).random(len(x))).round()
        df[name] = np.where(x.isna(), "", moved.astype(int).astype(str))
        return df

    _edit(f, fn)
    return (v.SHIFT_CHECK, name)


def bad_target_value(d: Path, f: Path, c: Contract) -> Check:
    values = c.columns[c.target].value_set
    if values is None:
        pytest.skip("the target declares no allowed values")
    _edit(f, _cells(c.target, unknown_value(list(values))))
    if c.columns[c.target].dtype == "bool":  # a boolean has no third value: text is a type failure
        return (v.TYPE_CHECK, c.target)
    return ("expect_column_values_to_be_in_set", c.target)


def null_target(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, _cells(c.target, ""))
    return ("expect_column_values_to_not_be_null", c.target)


def null_id(d: Path, f: Path, c: Contract) -> Check:
    _edit(f, _cells(c.id, "", slice(2, 3)))
    return ("expect_column_values_to_not_be_null", c.id)


def negative_id(d: Path, f: Path, c: Contract) -> Check:
    if c.columns[c.id].min is None:
        pytest.skip("the id has no 'min'")
    _edit(f, _cells(c.id, -5, slice(0, 1)))
    return ("expect_column_values_to_be_between", c.id)


def time_out_of_range(d: Path, f: Path, c: Contract) -> Check:
    if c.time is None or c.columns[c.time].min is None:
        pytest.skip("no time column with a 'min'")
    _edit(f, _cells(c.time, int(c.columns[c.time].min or 0) - 1, slice(0, 1)))
    return ("expect_column_values_to_be_between", c.time)


def too_few_rows(d: Path, f: Path, c: Contract) -> Check:
    files = list(d.iterdir())
    keep = c.min_rows // (2 * len(files))  # every file keeps some rows; together half of min_rows
    if keep < 1:
        pytest.skip(f"min_rows {c.min_rows} cannot be undercut by {len(files)} files of at least a row each")
    for p in files:
        _edit(p, lambda df: df.head(keep))
    return ("expect_table_row_count_to_be_between", None)


def wrong_type_in_parquet(d: Path, f: Path, c: Contract) -> Check:
    name = _first_int_column(c)
    df = pd.read_csv(f)
    df[name] = df[name].astype(np.float64) + 0.5
    df.to_parquet(f.with_suffix(".parquet"), index=False)
    f.unlink()
    return (v.TYPE_CHECK, name)


CORPUS: dict[str, Variant] = {
    f.__name__: f
    for f in [
        nulls, unknown_category, above_max, below_min, text_in_numbers, na_text_in_numbers, whole_float_in_int,
        id_beyond_int64,
        duplicate_ids_in_file, duplicate_ids_across_files, duplicate_rows, copied_file, missing_column, extra_column,
        renamed_column, leaked_target, empty_file, header_only, truncated, wrong_delimiter, binary_garbage, utf16,
        ragged_row, short_row, constant_category, constant_target, tiny_file, shifted_distribution, bad_target_value,
        null_target, null_id, negative_id, time_out_of_range, too_few_rows, wrong_type_in_parquet,
    ]
}  # fmt: skip


@pytest.fixture
def good_dir(sample: pd.DataFrame, synth_contract: Contract, params: Params, tmp_path: Path) -> Path:
    return write_data(sample, tmp_path / "data", synth_contract, split=params.split)


def victim(d: Path, which: str = "newest") -> Path:
    files = sorted(d.iterdir())
    return files[-1] if which == "newest" else files[0]


def many_small(d: Path, pieces: int = 4) -> None:
    """The same rows as many small exports (each file cut in ``pieces``): a fork with weekly files."""
    for f in sorted(d.iterdir()):
        df = _frame(f)
        size = -(-len(df) // pieces)
        for i in range(pieces):
            _save(df.iloc[i * size : (i + 1) * size], f.with_name(f"{f.stem}_{i}{f.suffix}"))
        f.unlink()


@pytest.mark.parametrize(
    ("layout", "which"), [("as_exported", "newest"), ("as_exported", "oldest"), ("many_small", "newest")]
)
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_broken_input_is_stopped_naming_file_and_column(
    case: str, layout: str, which: str, good_dir: Path, synth_contract: Contract
) -> None:
    if layout == "many_small":
        many_small(good_dir)
    f = victim(good_dir, which)
    expectation, column = CORPUS[case](good_dir, f, synth_contract)
    report = stage.validate(good_dir, synth_contract)
    assert not report["success"]
    bad = [c for c in report["checks"] if not c["success"]]
    assert any(c["expectation"] == expectation and (column is None or c["column"] == column) for c in bad), [
        v.describe(c) for c in bad
    ]
    others = {p.name for p in good_dir.iterdir()} - {f.name, f.with_suffix(".parquet").name}
    blamed = {c.get("file") for c in bad} & others
    # never the good files' rows (copied_file: both copies are to blame; too_few_rows cuts every file, and
    # files of a few dozen rows may differ by chance: a sibling check may name any of them)
    assert not blamed or case in ("copied_file", "too_few_rows"), [v.describe(c) for c in bad]
    for c in bad:
        assert v.describe(c).startswith(c["expectation"])


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize(
    "variant",
    ["shuffled_rows", "reordered_columns", "crlf", "bom", "parquet", "quoted", "no_final_newline"],
)
def test_good_data_written_differently_passes(variant: str, good_dir: Path, synth_contract: Contract) -> None:
    for f in sorted(good_dir.iterdir()):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        if variant == "shuffled_rows":
            _save(df.sample(frac=1.0, random_state=3), f)
        elif variant == "reordered_columns":
            _save(df[list(reversed(df.columns))], f)
        elif variant == "crlf":
            f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
        elif variant == "bom":
            f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
        elif variant == "parquet":
            pd.read_csv(f).to_parquet(f.with_suffix(".parquet"), index=False)
            f.unlink()
        elif variant == "quoted":
            df.to_csv(f, index=False, quoting=1, lineterminator="\n")
        else:
            f.write_bytes(f.read_bytes().rstrip(b"\n"))
    report = stage.validate(good_dir, synth_contract)
    assert report["success"], [v.describe(c) for c in report["checks"] if not c["success"]]


def test_stage_writes_both_reports_then_fails_naming_each_problem(
    good_dir: Path, synth_contract: Contract, tmp_path: Path
) -> None:
    f = victim(good_dir)
    name, values = coded_feature(synth_contract)
    numeric = non_nullable_feature(synth_contract)
    _edit(f, _cells(name, unknown_value(values), slice(0, 2)))
    _edit(f, _cells(numeric, "", slice(3, 4)))
    contract_file = tmp_path / "contract.yaml"
    import yaml

    from tests.servers import contract_dict

    contract_file.write_text(yaml.safe_dump(contract_dict(synth_contract), sort_keys=False))
    out_json, out_md = tmp_path / "r" / "v.json", tmp_path / "r" / "v.md"
    argv = ["--data", str(good_dir), "--contract", str(contract_file),
            "--out-json", str(out_json), "--out-md", str(out_md)]  # fmt: skip
    with pytest.raises(ValidationFailed) as err:
        stage.main(argv)
    msg = str(err.value)
    assert f"expect_column_values_to_be_in_set on column '{name}' in {f.name}" in msg
    assert str(unknown_value(values)) in msg
    assert f"expect_column_values_to_not_be_null on column '{numeric}' in {f.name}" in msg
    assert json.loads(out_json.read_text())["success"] is False
    assert f"| `expect_column_values_to_be_in_set` | {f.name} | {name} |" in out_md.read_text()


def test_files_in_the_data_folder_that_are_not_data_are_named_not_read(
    good_dir: Path, synth_contract: Contract, caplog: pytest.LogCaptureFixture
) -> None:
    (good_dir / "export.xlsx").write_bytes(b"PK\x03\x04")
    (good_dir / "2024").mkdir()
    (good_dir / ".DS_Store").write_bytes(b"\0")
    report = stage.validate(good_dir, synth_contract)
    assert report["success"], [v.describe(c) for c in report["checks"] if not c["success"]]
    said = [w for w in report["warnings"] if "ignored" in w]
    assert len(said) == 2
    assert any("export.xlsx: not *.csv or *.parquet" in w for w in said)
    assert any(w.endswith("2024: a folder (files are read from the data folder itself): ignored") for w in said)
    assert "export.xlsx" in v.markdown(report)
    assert sum("export.xlsx" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_uncovered_sensitive_bins_warn_naming_the_range(sample: pd.DataFrame, synth_contract: Contract) -> None:
    from mlpipe.core.profile import uncovered_bins

    binned = [n for n, a in synth_contract.sensitive.items() if a.bins is not None]
    if not binned:
        pytest.skip("no numeric sensitive attribute")
    name = binned[0]
    hi = synth_contract.sensitive[name].bins[-1]  # type: ignore[index]
    df = sample.assign(**{name: sample[name].astype(float)})
    df.loc[df.index[:2], name] = hi + 5
    (warning,) = uncovered_bins(df, synth_contract)
    assert warning.startswith(f"sensitive.{name}: bins")
    assert f"{hi + 5:g}" in warning


def test_an_expectation_gx_warns_about_behaves_as_in_make_repro(tmp_path: Path) -> None:
    """gx warns on a regex with groups; under pytest's warnings-as-errors that must not fail the check."""
    from mlpipe.config import parse_contract
    from mlpipe.core.synth import synthesise
    from tests.datasets import INCOME

    regex = {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "sex", "regex": "^(Female|Male)$"}}
    contract = parse_contract(INCOME | {"expectations": [regex]})
    report = stage.validate(write_data(synthesise(contract, 1000), tmp_path / "d", contract), contract)
    assert report["success"], [v.describe(c) for c in report["checks"] if not c["success"]]


@pytest.mark.slow
@pytest.mark.integration
def test_the_whole_corpus_is_stopped_by_dvc_repro_with_the_model_untouched(
    tmp_path: Path, trained: Path, synth_contract: Contract, paths: PipelinePaths
) -> None:
    """Each broken variant, through the real pipeline: `dvc repro` fails in validate, the model stays."""
    import shutil

    from mlpipe.io.files import sha256_file
    from tests.repos import run
    from tests.servers import copy_trained

    repo = copy_trained(trained, tmp_path / "repo")
    at = paths.under(repo)
    model = sha256_file(at.model)
    pristine = tmp_path / "pristine"
    shutil.copytree(at.data, pristine)
    stopped = []
    for case, variant in sorted(CORPUS.items()):
        shutil.rmtree(at.data)
        shutil.copytree(pristine, at.data)
        try:
            variant(at.data, victim(at.data), synth_contract)
        except pytest.skip.Exception:
            continue
        res = run(repo, "dvc", "repro", check=False)
        assert res.returncode != 0, case
        assert "failed to reproduce 'validate'" in res.stderr + res.stdout, case
        assert sha256_file(at.model) == model, case
        stopped.append(case)
    assert len(stopped) >= 30, stopped


def test_a_quoted_line_break_in_the_last_row_is_not_a_truncated_file(tmp_path: Path) -> None:
    from mlpipe.config import parse_contract
    from mlpipe.core.synth import synthesise
    from tests.datasets import INCOME

    contract = parse_contract(INCOME)
    df = synthesise(contract, 1000, seed=4)
    df.loc[df.index[-1], "occupation"] = "called twice,\nleft a message"
    data = write_data(df, tmp_path / "d", contract)
    report = stage.validate(data, contract)
    assert report["success"], [v.describe(c) for c in report["checks"] if not c["success"]]


def test_an_id_repeated_in_a_broken_file_is_named_with_both_files_and_rows(
    good_dir: Path, synth_contract: Contract
) -> None:
    """A file kept out of the whole-table checks by its own errors still takes part in the id check."""
    first, last = sorted(good_dir.iterdir())[0], sorted(good_dir.iterdir())[-1]
    key = synth_contract.id
    repeated = _frame(first)[key].iloc[0]
    _edit(last, _cells(key, repeated, slice(1, 2)))  # data row 2 of the newest file repeats row 1 of the oldest
    truncated(good_dir, last, synth_contract)  # and the newest file is cut short
    report = stage.validate(good_dir, synth_contract)
    bad = [c for c in report["checks"] if not c["success"]]
    unique = [c for c in bad if c["expectation"] == v.UNIQUE_CHECK and c["column"] == key]
    assert len(unique) == 1, [v.describe(c) for c in bad]
    assert f"{repeated} in {first.name} row 1, {last.name} row 2" in v.describe(unique[0])
    assert report["rows"] == sum(len(_frame(f)) for f in good_dir.iterdir())  # every readable row counted
