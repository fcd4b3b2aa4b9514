"""The command edge's fast exit: a command skips the interpreter's teardown, never what a normal exit
does for the program (atexit callbacks, buffered output, threads still working, exit codes)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.repos import ROOT

pytestmark = pytest.mark.unit

COMMAND = """
import atexit, sys, threading, time
from pathlib import Path
from mlpipe.cli import run_stage
from mlpipe.errors import ConfigError

out = Path(sys.argv[1])


class Teardown:  # its __del__ runs when the interpreter frees this module: only on a normal exit
    def __del__(self) -> None:
        (out / "teardown").write_text("ran")


kept = Teardown()

def main() -> None:
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    sys.stdout.write("no newline, still buffered")
    if sys.argv[2] == "thread":
        def late() -> None:
            time.sleep(0.3)
            (out / "thread").write_text("finished")
        threading.Thread(target=late).start()
    if sys.argv[2] == "fail":
        raise ConfigError("bad knob")
    if sys.argv[2] == "closed":
        sys.stdout.close()

run_stage(main)
"""


def run(tmp_path: Path, how: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "command.py"
    script.write_text(textwrap.dedent(COMMAND))
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path), how],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("how", ["plain", "thread"])
def test_a_command_that_succeeds_keeps_what_a_normal_exit_does(tmp_path: Path, how: str) -> None:
    done = run(tmp_path, how)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no newline, still buffered"
    assert "done in" in done.stderr  # the log line is flushed too
    assert (tmp_path / "atexit").read_text() == "ran"
    if how == "thread":  # a non-daemon thread still working: the exit waits for it, as Python's does
        assert (tmp_path / "thread").read_text() == "finished"
    else:  # the point of it: no teardown
        assert not (tmp_path / "teardown").exists()


def test_a_command_that_closed_its_stdout_still_exits_0(tmp_path: Path) -> None:
    done = run(tmp_path, "closed")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "atexit").read_text() == "ran"


def test_a_command_that_fails_exits_with_its_error_code(tmp_path: Path) -> None:
    done = run(tmp_path, "fail")
    assert done.returncode == 1
    assert "bad knob" in done.stderr
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "teardown").read_text() == "ran"  # a failure exits the usual way


ARROW = """
import sys
if sys.argv[1] == "arrow":
    import pyarrow
from mlpipe.cli import run_stage

def main() -> None:
    arrow = sys.modules.get("pyarrow")
    sys.stdout.write("none" if arrow is None else arrow.default_memory_pool().backend_name)

run_stage(main)
"""


@pytest.mark.parametrize(
    ("imports", "pool", "expected"), [("arrow", "", "jemalloc"), ("nothing", "", "none"), ("arrow", "system", "system")]
)
def test_a_command_takes_arrows_buffers_from_jemalloc_unless_told_and_loads_no_arrow_of_its_own(
    tmp_path: Path, imports: str, pool: str, expected: str
) -> None:
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc: commands keep Arrow's default allocator")
    script = tmp_path / "command.py"
    script.write_text(textwrap.dedent(ARROW))
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "ARROW_DEFAULT_MEMORY_POOL": pool}
    proc = subprocess.run(
        [sys.executable, str(script), imports], check=True, capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.stdout == expected
