"""The trimmed ICU data library (packaging/icu_trim.py): same format, root and English data, ICU works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import icu_trim  # noqa: E402 - a build script, not a package

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="only the Linux PySide6 wheels ship ICU")


@pytest.fixture(scope="module")
def qt_lib() -> Path:
    """PySide6's Qt library folder, which holds libicudata/libicuuc/libicui18n."""
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "lib"


@pytest.fixture(scope="module")
def original(qt_lib: Path) -> Path:
    """The wheel's libicudata.so.NN."""
    return next(qt_lib.glob("libicudata.so.[0-9]*"))


@pytest.fixture(scope="module")
def trimmed(original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our trimmed copy of it."""
    return Path(icu_trim.trim_library(original, tmp_path_factory.mktemp("icu")))


def test_parse_and_build_reproduce_the_original_blob_byte_for_byte(original: Path) -> None:
    _symbol, blob = icu_trim.read_blob(original)
    header, entries = icu_trim.parse(blob)
    assert icu_trim.build(header, entries) == blob


def test_trimmed_library_keeps_root_and_english_only(original: Path, trimmed: Path) -> None:
    symbol, blob = icu_trim.read_blob(trimmed)
    assert symbol == icu_trim.read_blob(original)[0]
    names = {name.split("/", 1)[1] for name, _ in icu_trim.parse(blob)[1]}
    assert {
        "root.res",
        "en.res",
        "coll/ucadata.icu",
        "coll/root.res",
        "nfkc.nrm",
        "uts46.nrm",
        "cnvalias.icu",
        "brkitr/word.brk",
        "res_index.res",
        "pool.res",
    } <= names
    assert not names & {"de.res", "ja.res", "coll/de.res", "brkitr/cjdict.dict", "ibm-943_P15A-2003.cnv"}
    assert trimmed.stat().st_size < 5 * 2**20 < original.stat().st_size
    soname = subprocess.run(
        ["readelf", "-d", str(trimmed)], capture_output=True, text=True, check=True
    ).stdout
    assert f"[{original.name}]" in soname


def test_icu_works_with_the_trimmed_data(qt_lib: Path, trimmed: Path) -> None:
    """ICU itself, loaded with our data library: root collation, English, fallback to root, no Shift-JIS."""
    version = trimmed.name.rsplit(".", 1)[1]
    program = textwrap.dedent(f"""
        import ctypes
        ctypes.CDLL({str(trimmed)!r}, mode=ctypes.RTLD_GLOBAL)  # same soname: libicuuc uses this one
        uc = ctypes.CDLL({str(qt_lib / f"libicuuc.so.{version}")!r})
        i18n = ctypes.CDLL({str(qt_lib / f"libicui18n.so.{version}")!r})
        status = ctypes.c_int(0)
        i18n.ucol_open_{version}.restype = ctypes.c_void_p
        coll = i18n.ucol_open_{version}(b"de", ctypes.byref(status))
        print("collator", status.value, bool(coll))
        strcoll = i18n.ucol_strcollUTF8_{version}
        strcoll.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                            ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int)]
        order = strcoll(coll, "äpfel".encode(), -1, b"Birne", -1, ctypes.byref(status))
        print("order", order, status.value)
        status = ctypes.c_int(0)
        uc.ures_open_{version}.restype = ctypes.c_void_p
        uc.ures_open_{version}(None, b"en", ctypes.byref(status))
        print("en", status.value)
        status = ctypes.c_int(0)
        uc.ucnv_open_{version}(b"Shift_JIS", ctypes.byref(status))
        print("sjis", status.value)
    """)
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    # U_USING_DEFAULT_WARNING (-127): no German tailoring, the root collator is used
    assert lines["collator"] == "-127 True"
    assert lines["order"] == "-1 -127", "root collation sorts äpfel before Birne"
    assert lines["en"] == "0"  # U_ZERO_ERROR: English locale data is there
    assert lines["sjis"] == "4"  # U_FILE_ACCESS_ERROR: legacy code pages are left out on purpose
