"""The example dataset: ACS Employment (Massachusetts, 2015-2018) read out of the nannyml wheel.

The wheel is downloaded with pip (never installed or imported: nannyml has telemetry and
heavy dependencies), its sha256 checked, and the three parquet files joined. CSVs are
written with a fixed column order and ``lineterminator="\\n"`` so a fresh machine
re-creates the exact bytes ``data.dvc`` recorded.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

from mlpipe.config import ExampleData
from mlpipe.errors import DataError
from mlpipe.io.files import atomic_path, sha256_file

log = logging.getLogger(__name__)

_MEMBER = "nannyml/datasets/data/employment_MA_{}.pq"
COLUMNS = [
    "id", "AGEP", "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC",
    "NATIVITY", "DEAR", "DEYE", "DREM", "SEX", "RAC1P", "employed", "year",
]  # fmt: skip


#: Where the downloaded wheel is kept (the workflows cache this directory).
WHEEL_CACHE = Path(".cache/wheels")


def file_name(year: int) -> str:
    return f"acs_ma_{year}.csv"


def fetch_wheel(spec: ExampleData, cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.package.partition("==")
    wheel = cache_dir / f"{name}-{version}-py3-none-any.whl"
    if not (wheel.is_file() and sha256_file(wheel) == spec.sha256):
        log.info("downloading %s (about 23 MB) into %s", spec.package, cache_dir)
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--python-version", "3.12", spec.package, "-d", str(cache_dir),
        ]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0 or not wheel.is_file():
            raise DataError(f"could not download {spec.package}: {res.stderr.strip()[-500:]}")
    actual = sha256_file(wheel)
    if actual != spec.sha256:
        raise DataError(f"{wheel}: sha256 {actual} does not match params.yaml example_data.sha256 {spec.sha256}")
    return wheel


def load_all_years(wheel: Path) -> pd.DataFrame:
    with zipfile.ZipFile(wheel) as zf:

        def read(part: str) -> pd.DataFrame:
            return pd.read_parquet(io.BytesIO(zf.read(_MEMBER.format(part))))

        reference, analysis, target = read("reference"), read("analysis"), read("analysis_target")
    analysis = analysis.merge(target, on="id", how="left", validate="one_to_one")
    df = pd.concat([reference, analysis], ignore_index=True)[COLUMNS]
    if df["employed"].isna().any():
        raise DataError(f"{wheel}: some analysis rows have no target after the join on id")
    return df.astype("int64")


def write_years(df: pd.DataFrame, years: list[int], data_dir: Path) -> list[Path]:
    """Write one CSV per year; an existing file with other bytes is an error, never overwritten."""
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for year in years:
        part = df[df["year"] == year]
        if part.empty:
            raise DataError(f"the example data has no rows for year {year}")
        payload = part.to_csv(index=False, lineterminator="\n").encode()
        target = data_dir / file_name(year)
        if target.exists():
            if target.read_bytes() == payload:
                continue
            raise DataError(
                f"{target} exists with different content; refusing to overwrite it "
                f"(restore it with `dvc checkout data.dvc` or move it away)"
            )
        with atomic_path(target) as tmp:
            tmp.write_bytes(payload)
        log.info("wrote %s (%d rows)", target, len(part))
        written.append(target)
    return written
