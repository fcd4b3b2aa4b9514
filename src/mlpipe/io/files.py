"""File edges: YAML/JSON, the raw data directory, frames on disk, content hashes."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlpipe.config import Contract, Params, check_against_contract, parse_contract, parse_params
from mlpipe.errors import ConfigError, DataError

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pandas is imported by the table functions below, where they run: the config,
    # JSON and text helpers serve processes that never read a table (make comment: 0.56 s -> 0.2 s)
    import pandas as pd


try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _NoDuplicateKeys(yaml.constructor.SafeConstructor):
    """PyYAML keeps the last of two equal keys; a second ``gate:`` pasted at the end of params.yaml
    would then silently drop every setting of the first (DVC refuses such a file, so should we).
    A merge (``<<: *defaults``) is not a key: what it brings in, the mapping's own keys may override."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (lines {seen[key]} and {line})", key_node.start_mark
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _UniqueKeys(_NoDuplicateKeys, _SafeLoader):
    """libyaml's parser when PyYAML has it (its wheels do): the contract in 2 ms instead of 14, in every
    stage. The same values and the same line and column in an error; libyaml also takes a tab after
    ``key:`` (as DVC does), and some of its messages do not quote the offending character."""


def load_yaml(path: str | Path) -> Any:
    p = Path(path)
    try:
        with p.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_UniqueKeys)  # a (C)SafeLoader
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: not UTF-8 text (byte {err.start}): save it as UTF-8") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML: {err}") from None


def load_config(params_path: str | Path, contract_path: str | Path) -> tuple[Params, Contract]:
    params = parse_params(load_yaml(params_path), str(params_path))
    contract = parse_contract(load_yaml(contract_path), str(contract_path))
    check_against_contract(params, contract)
    return params, contract


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path`` and move it into place only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would surprise anyone sharing the checkout
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | Path, obj: Any, indent: int = 2) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=indent, sort_keys=False, default=_json_default) + "\n", encoding="utf-8")


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the stage that writes it first)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:  # e.g. a merge conflict's markers
        raise DataError(
            f"{path}: not valid JSON ({err}); restore it (git checkout, dvc checkout) or rerun the stage that writes it"
        ) from None


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_dir(path: str | Path) -> str:
    """Hash of every file's relative path and bytes, in sorted order."""
    root = Path(path)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + sha256_file(f).encode())
    return h.hexdigest()


def frame_sha256(df: pd.DataFrame) -> str:
    """Content hash of a frame that does not depend on its on-disk format."""
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    row_hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(row_hashes.tobytes())
    return h.hexdigest()


#: Data file formats the pipeline reads, by suffix.
DATA_SUFFIXES = (".csv", ".parquet")


def data_files(data_dir: str | Path) -> list[Path]:
    """The data files of a data directory (or the one file given), sorted by name."""
    root = Path(data_dir)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError(f"{root}: data directory not found (run `make data`)")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    for message in ignored_files(root, files):
        log.warning("%s", message)
    if not files:
        others = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        raise DataError(
            f"{root}: no data files (*.csv or *.parquet)" + (f"; found {others[:5]}" if others else "; it is empty")
        )
    return files


def ignored_files(root: Path, files: list[Path]) -> list[str]:
    """What a data folder holds besides its data files (an export left as .xlsx, a nested folder): said,
    not read. Hidden files (.DS_Store, .gitignore) are not meant as data and go unmentioned."""
    if not root.is_dir():
        return []
    out = []
    for p in sorted(set(root.iterdir()) - set(files)):
        if not p.name.startswith("."):
            if p.is_dir():
                what = "a folder (files are read from the data folder itself)"
            else:
                what = "a link to nothing" if not p.exists() else "not *.csv or *.parquet"
            out.append(f"{p}: {what}: ignored")
    return out


def read_table(path: str | Path, str_columns: Sequence[str] = ()) -> pd.DataFrame:
    """One data file as read everywhere (validation, prepare, scoring, monitoring).

    CSV: UTF-8 with or without a byte-order mark, any line ending; ``str_columns`` are read as
    text so codes such as ``"007"`` keep their leading zeros. Parquet keeps its own types.
    Raises what pandas raises; callers turn that into a message naming the file.
    """
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return as_text(pd.read_parquet(p), str_columns)
    frame: pd.DataFrame = read_csv(p, str_columns, low_memory=False)
    for name in frame.columns:
        # pandas 3 keeps a blank as "" in a column it reads as text because of a whole number beyond
        # int64 (a 64-bit hash, or 2**63 beside a negative number); elsewhere a CSV blank is missing
        if pd.api.types.is_string_dtype(frame[name]) and frame[name].eq("").any():
            frame[name] = frame[name].mask(frame[name].eq(""))
    return frame


def as_text(df: pd.DataFrame, str_columns: Sequence[str]) -> pd.DataFrame:
    """Parquet keeps its own types: columns the contract types as text become text, nulls kept."""
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    for name in str_columns:
        if name in df and not (pd.api.types.is_string_dtype(df[name]) or df[name].dtype == object):
            df[name] = df[name].astype("str").where(df[name].notna())
    return df


def read_csv(path: str | Path, str_columns: Sequence[str] = (), **kw: Any) -> Any:
    """pandas' CSV reader as every part of the pipeline calls it (``kw``: e.g. ``chunksize``): UTF-8 with or
    without a byte-order mark, ``str_columns`` as text."""
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    if isinstance(path, str | Path) and Path(path).suffix.lower() == ".csv":
        repeated_header(path)
    return pd.read_csv(path, encoding="utf-8-sig", dtype=dict.fromkeys(str_columns, "str") or None, **kw)


def repeated_header(path: str | Path) -> None:
    """pandas renames a second ``AGEP`` to ``AGEP.1``: the contract, the service and the report would
    then speak of a column the file does not have. Undecodable or binary files are left to pandas."""
    try:
        with Path(path).open(encoding="utf-8-sig", errors="replace", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, csv.Error):
        return
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):
        if name in seen:
            raise DataError(f"{path}: column {name!r} appears twice in the header (columns {seen[name]} and {i})")
        seen[name] = i


def read_csv_as_written(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Every cell as the text in the file (blanks as ``""``): to tell ``46`` from ``46.0``, or keep ``02134``."""
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False, usecols=columns)


def text_columns(contract: Contract) -> list[str]:
    """Columns the contract types as text: read as text, whatever they look like."""
    return [name for name, col in contract.columns.items() if col.dtype == "str"]


def read_data(data_dir: str | Path, contract: Contract) -> pd.DataFrame:
    """Every data file, stacked (after validation passed: a failure here names the file)."""
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    frames = []
    for f in data_files(data_dir):
        try:
            frames.append(read_table(f, text_columns(contract)))
        except DataError:  # names the file already
            raise
        except Exception as err:  # pandas/pyarrow raise many types; the file's name is what matters
            raise DataError(f"{f}: cannot be read: {type(err).__name__}: {str(err)[:300]}") from None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_frame(path: str | Path) -> pd.DataFrame:
    import pandas as pd  # noqa: PLC0415 - see the TYPE_CHECKING import

    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the stage that writes it first)") from None


def write_frame(path: str | Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
