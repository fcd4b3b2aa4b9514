"""``make golden`` writes one file: never an input of its own, a folder, or a file it did not write."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.io.files import data_files
from mlpipe.tasks.golden import COLUMN
from tests.repos import invoke
from tests.servers import Served

pytestmark = pytest.mark.integration


def test_golden_never_replaces_an_input_a_folder_or_a_file_it_did_not_write(served: Served, tmp_path: Path) -> None:
    repo, paths = served.repo, served.paths
    data = data_files(repo / paths.data)[0]
    (tmp_path / "link.csv").symlink_to(data)  # --out a symlink to a data file
    (tmp_path / "folder").mkdir()
    (tmp_path / "mine.csv").write_text("notes,of,mine\n")
    cases = {
        str(data): "is the input",
        str(tmp_path / "link.csv"): "is the input",
        str(repo / paths.params): "is the input",
        str(repo / paths.card): "is the input",
        str(tmp_path / "folder"): "is a folder",
        str(tmp_path / "mine.csv"): "is not an earlier `make golden` file",
    }
    watched = [data, repo / paths.params, repo / paths.card, tmp_path / "mine.csv"]
    before = {p: p.read_bytes() for p in watched}
    for out, why in cases.items():
        res = invoke("mlpipe.tasks.golden", "--out", out, cwd=repo)
        assert res.returncode == 1, out
        assert why in res.stderr, (out, res.stderr)
        assert "Traceback" not in res.stderr
    assert {p: p.read_bytes() for p in watched} == before
    assert list((tmp_path / "folder").iterdir()) == []
    for _ in range(2):  # a new file, then its own earlier result, replaced
        res = invoke("mlpipe.tasks.golden", "--out", str(tmp_path / "golden.csv"), cwd=repo)
        assert res.returncode == 0, res.stderr
    assert pd.read_csv(tmp_path / "golden.csv").columns[-1] == COLUMN
