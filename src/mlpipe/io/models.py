"""Model files: skops only (pickle/joblib run code on load), checked against a recorded hash.

Loading trusts exactly the types scikit-learn models of this template are built from.
skops refuses HistGradientBoosting's ``TreePredictor`` by default because a crafted file
could make predict read out of bounds; we trust it by name, and only after the file's
sha256 matched the one recorded at training time.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import re
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from mlpipe.errors import ModelIntegrityError
from mlpipe.io.files import atomic_path, sha256_file

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.impute._base.MissingIndicator",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.dummy.DummyClassifier",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.preprocessing._encoders.OrdinalEncoder",
        "sklearn.preprocessing._data.StandardScaler",
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "numpy.dtype",
        "builtins.slice",
    }
)


_SKOPS_IMPORT = threading.Lock()


def _skops() -> Any:
    """``skops.io``, imported without its default lists of trusted estimators and scipy ufuncs.

    skops builds those lists at import by importing every module of scikit-learn
    (``sklearn.utils.all_estimators``: 0.3-0.4 s a process on a quiet machine, seconds on a busy one),
    and by looking up the module of each of scipy's 230 ufuncs among every loaded module (0.2 s in a
    stage; ``dir(scipy.special)`` lists nothing meanwhile). Loading here never relies on them: every
    type a file names that is not a plain number, container or array is checked against
    ``TRUSTED_TYPES`` (which lists each estimator and transformer this template builds) and only then
    passed to skops as trusted. Without the lists skops simply reports more types for that check. If
    ``skops.io`` was imported already, it is used as it is.
    """
    with _SKOPS_IMPORT:  # the patch is process-wide: one thread at a time, and none sees it half done
        if "skops.io" not in sys.modules:
            import scipy.special  # noqa: PLC0415 - loaded with scikit-learn anyway
            import sklearn.utils  # noqa: PLC0415 - scikit-learn: only where a model is saved or loaded

            every, listing = sklearn.utils.all_estimators, scipy.special.__dict__.get("__dir__")
            sklearn.utils.all_estimators = lambda *_, **__: []
            scipy.special.__dict__["__dir__"] = list  # dir(scipy.special): no names, so no ufunc to look up
            try:
                import skops.io  # noqa: F401, PLC0415
            finally:
                sklearn.utils.all_estimators = every
                if listing is None:
                    del scipy.special.__dict__["__dir__"]
                else:
                    scipy.special.__dict__["__dir__"] = listing
        return importlib.import_module("skops.io")


def save_model(model: Any, path: str | Path) -> str:
    """Write atomically and return the file's sha256 (to be recorded beside it).

    The bytes are canonical (see ``_canonical``), so retraining on the same data and params
    gives a file with the same hash.
    """
    sio = _skops()
    with atomic_path(path) as tmp:
        tmp.write_bytes(_canonical(sio.dumps(model)))
    return sha256_file(path)


_ID = re.compile(rb'("__id__": |")(\d{6,})(\.npy"|[,\n}])')


def _canonical(data: bytes) -> bytes:
    """Make skops output depend only on the model: same model, same bytes, same hash.

    skops names array files and memo keys after ``id()`` of live objects and stamps zip
    entries with the current time. Ids are renumbered in order of first appearance in the
    schema (a bijection, so shared references stay shared) and timestamps fixed.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = src.read("schema.json")
    mapping: dict[bytes, bytes] = {}
    for m in _ID.finditer(schema):
        mapping.setdefault(m.group(2), str(len(mapping) + 1).encode())
    renamed = _ID.sub(lambda m: m.group(1) + mapping[m.group(2)] + m.group(3), schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in sorted(src.infolist(), key=lambda i: _rename(i.filename, mapping)):
            name = _rename(info.filename, mapping)
            fixed = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.create_system = 3  # "Unix"; the default is the OS writing it (0 on Windows)
            fixed.compress_type = info.compress_type
            fixed.external_attr = 0o600 << 16  # rw-------, whatever the writer asked for
            dst.writestr(fixed, renamed if name == "schema.json" else src.read(info.filename))
    return out.getvalue()


def _rename(filename: str, mapping: dict[bytes, bytes]) -> str:
    stem, dot, ext = filename.partition(".")
    new = mapping.get(stem.encode())
    return f"{new.decode()}{dot}{ext}" if new is not None else filename


def load_model(path: str | Path, expected_sha256: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise ModelIntegrityError(f"{p}: model file not found")
    data = p.read_bytes()  # read once: the bytes hashed are the bytes loaded, even if the file is replaced
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelIntegrityError(f"{p}: sha256 {actual[:12]}… does not match the recorded {expected_sha256[:12]}…")
    return load_verified_bytes(data, str(p))


def load_verified_bytes(data: bytes, name: str) -> Any:
    """Load bytes whose hash the caller has already checked."""
    sio = _skops()
    untrusted = set(sio.get_untrusted_types(data=data))
    unknown = sorted(untrusted - TRUSTED_TYPES)
    if unknown:
        raise ModelIntegrityError(f"{name}: refuses to load untrusted types {unknown}")
    return sio.loads(data, trusted=sorted(untrusted))
