"""``make data`` and ``make add-year``: get the raw data that ``data.dvc`` records.

``materialise``: nothing to do when ``dvc status data.dvc`` is clean; otherwise pull from
the DVC remote if one is configured; otherwise re-create the example data from its public
wheel and check the result matches ``data.dvc`` byte for byte.
``add-year``: "new data arrives" as one command: the next example year is written,
``params.yaml`` records it, and ``dvc add`` updates ``data.dvc``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import yaml

from mlpipe.cli import run_stage
from mlpipe.config import ExampleData, parse_params
from mlpipe.errors import ConfigError, DataError, DataUnavailable
from mlpipe.io.example_data import WHEEL_CACHE, fetch_wheel, file_name, load_all_years, write_years
from mlpipe.io.files import load_yaml, write_text
from mlpipe.io.pipeline import pipeline_paths

log = logging.getLogger(__name__)


def dvc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True, check=False)


def tracked_dir(dvc_file: Path) -> Path:
    meta = load_yaml(dvc_file) if dvc_file.exists() else None
    if not meta or not meta.get("outs"):
        raise ConfigError(f"{dvc_file}: no 'outs' entry; create it with `dvc add <data dir>`")
    return dvc_file.parent / str(meta["outs"][0]["path"])


def in_sync(dvc_file: Path) -> bool:
    """Workspace matches the .dvc file *and* the cache holds it (what a clean ``dvc status`` means)."""
    res = dvc("status", "--json", str(dvc_file))
    return res.returncode == 0 and res.stdout.strip() in ("{}", "")


def has_remote() -> bool:
    res = dvc("remote", "list")
    return res.returncode == 0 and bool(res.stdout.strip())


def has_files(data_dir: Path) -> bool:
    return data_dir.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in data_dir.iterdir())


def no_data_message(dvc_file: Path, data_dir: Path, remote: bool) -> str:
    """What to do, for each state of data/ without the example section to fall back on."""
    if not dvc_file.exists():
        return (
            f"{data_dir} has no data files and there is no {dvc_file}: put your CSV or parquet files in {data_dir}/, "
            f"draft a contract (make contract DATA={data_dir} TARGET=<column>), then `dvc add {data_dir}` "
            f"and commit {dvc_file}"
        )
    if has_files(data_dir):
        return (
            f"{data_dir} holds files that are not what {dvc_file} records{changed_files(data_dir)}. "
            "If they are your new data, record them: "
            f"`dvc add {data_dir}`, commit {dvc_file} (and `dvc push` once a remote is set up). To get the recorded "
            f"version instead: `dvc checkout {dvc_file}` (from the local cache) or `dvc pull` (from the remote)."
        )
    where = (
        "the DVC remote could not provide it (credentials? a pull request from a fork has none)"
        if remote
        else "no DVC remote is configured"
    )
    return (
        f"the data {dvc_file} records is not in {data_dir}/ and {where}; params.yaml has no example_data to fall "
        "back on. Configure the remote where you pushed it (`dvc remote add -d storage s3://bucket/path`, or set "
        'DVC_REMOTE_URL for `make remote`), then `make data`; see docs/own-data.md, "Data and DVC remotes".'
    )


def changed_files(data_dir: Path, most: int = 5) -> str:
    """`` (modified: data/a.csv; added: data/b.csv)``: which files of ``data_dir`` differ from what DVC
    records, as ``dvc data status`` sees them; empty when it cannot tell (no cache of the recorded version)."""
    res = dvc("data", "status", "--granular", "--json")
    try:
        status = json.loads(res.stdout) if res.returncode == 0 else {}
    except ValueError:
        return ""
    changes = status.get("uncommitted", {}) if isinstance(status, dict) else {}
    parts = []
    for kind, paths in changes.items():
        files = [p for p in paths if p.startswith(f"{data_dir.as_posix()}/") and not p.endswith("/")]  # not the folder
        if files:
            more = f" and {len(files) - most} more" if len(files) > most else ""
            parts.append(f"{kind}: {', '.join(files[:most])}{more}")
    return f" ({'; '.join(parts)})" if parts else ""


def example_spec(params_path: Path, dvc_file: Path, data_dir: Path, remote: bool) -> ExampleData:
    spec = parse_params(load_yaml(params_path), str(params_path)).example_data
    if spec is None:
        raise DataUnavailable(no_data_message(dvc_file, data_dir, remote))
    return spec


def materialise(dvc_file: Path, params_path: Path, cache: Path) -> None:
    if dvc_file.exists() and in_sync(dvc_file):
        log.info("%s is up to date", dvc_file)
        return
    remote = dvc_file.exists() and has_remote()
    if remote:
        log.info("pulling %s from the DVC remote", dvc_file)
        res = dvc("pull", str(dvc_file))
        if res.returncode == 0 and in_sync(dvc_file):
            return
        log.warning("dvc pull did not restore the data (%s)", res.stderr.strip()[-300:])
    data_dir = tracked_dir(dvc_file) if dvc_file.exists() else pipeline_paths().data
    if not dvc_file.exists() and has_files(data_dir):
        _dvc_add(data_dir)  # a first-time data dir: track what is there
        return
    spec = example_spec(params_path, dvc_file, data_dir, remote)
    foreign = sorted(
        p.name for p in data_dir.glob("*") if p.is_file() and p.name not in {file_name(y) for y in spec.available_years}
    ) if data_dir.is_dir() else []  # fmt: skip
    if foreign:
        raise DataError(
            no_data_message(dvc_file, data_dir, remote)
            + f" ({foreign[:3]} are not example files: remove example_data from params.yaml once the data are yours.)"
        )
    write_years(load_all_years(fetch_wheel(spec, cache)), spec.years, data_dir)
    if not dvc_file.exists():
        _dvc_add(data_dir)
        return
    verify_and_cache(dvc_file, data_dir, spec.package)


def verify_and_cache(dvc_file: Path, data_dir: Path, source: str) -> None:
    """Hash the re-created data with DVC itself and compare with the recorded hash.

    ``dvc status`` cannot tell: with an empty cache it says "not in cache" whether or not the
    files match. ``dvc commit`` hashes the workspace (and fills the cache); if the hash
    differs, the original ``data.dvc`` is put back and the mismatch is an error.
    """
    recorded = dvc_file.read_text(encoding="utf-8")
    res = dvc("commit", "--force", "--quiet", str(dvc_file))
    if res.returncode != 0:
        raise DataError(f"dvc commit {dvc_file} failed: {res.stderr.strip()}")
    before, after = _md5(recorded), _md5(dvc_file.read_text(encoding="utf-8"))
    if before != after:
        write_text(dvc_file, recorded)
        raise DataError(
            f"{data_dir} was re-created from {source} but hashes to {after}, not the {before} that "
            f"{dvc_file} records. Extra or changed files in {data_dir}? A different pandas writing the CSVs? "
            f"If {data_dir} now holds your own data: `dvc add {data_dir}` and commit {dvc_file}."
        )
    log.info("%s re-created from %s and matches %s (%s)", data_dir, source, dvc_file, before)


def _md5(dvc_text: str) -> str:
    return str(yaml.safe_load(dvc_text)["outs"][0]["md5"])


def _dvc_add(data_dir: Path) -> None:
    res = dvc("add", str(data_dir))
    if res.returncode != 0:
        raise DataError(f"dvc add {data_dir} failed: {res.stderr.strip()}")
    log.info("tracked %s with DVC", data_dir)


def add_year(dvc_file: Path, params_path: Path, cache: Path) -> int:
    spec = parse_params(load_yaml(params_path), str(params_path)).example_data
    if spec is None:
        data_dir = tracked_dir(dvc_file) if dvc_file.exists() else pipeline_paths().data
        raise DataError(
            f"make add-year adds the next year of the *example* data, and {params_path} has no example_data "
            f"section (your own data is in use). New data of yours: put the file in {data_dir}/, then "
            f"`dvc add {data_dir}` and commit {dvc_file}; `make repro` validates it and retrains."
        )
    remaining = [y for y in spec.available_years if y not in spec.years]
    if not remaining:
        raise DataError(f"all example years {spec.available_years} are already in {params_path}")
    year = min(remaining)
    write_years(load_all_years(fetch_wheel(spec, cache)), [year], tracked_dir(dvc_file))
    text = params_path.read_text(encoding="utf-8")
    years = sorted([*spec.years, year])
    new_text, n = re.subn(r"(?m)^(\s+years:\s*)\[[^\]]*\]", rf"\g<1>{years}", text, count=1)
    if n != 1 or yaml.safe_load(new_text)["example_data"]["years"] != years:
        raise ConfigError(f"{params_path}: could not update example_data.years; add {year} by hand")
    write_text(params_path, new_text)
    _dvc_add(tracked_dir(dvc_file))
    log.info("added year %d; now %s. Commit params.yaml and data.dvc, then `dvc push`.", year, years)
    return year


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("command", choices=["materialise", "add-year"])
    ap.add_argument(
        "--optional", action="store_true", help="when the data cannot be had, warn and exit 0 (the test suite)"
    )
    ap.add_argument("--dvc-file", default="data.dvc", type=Path)
    ap.add_argument("--params", type=Path, help="default: paths.params in dvc.yaml")
    ap.add_argument("--cache", default=WHEEL_CACHE, type=Path)
    args = ap.parse_args(argv)
    args.params = args.params or pipeline_paths().params
    if args.command == "materialise":
        try:
            materialise(args.dvc_file, args.params, args.cache)
        except DataUnavailable as err:  # only "cannot be had": a mismatch or a conflict always fails
            if not args.optional:
                raise
            log.warning("no real data: %s", err)
            log.warning("tests that need the real data will be skipped; the rest run on contract-synthesised data")
    else:
        add_year(args.dvc_file, args.params, args.cache)


if __name__ == "__main__":
    run_stage(main)
