"""Shrink the ICU data library that PySide6's Linux wheels ship (libicudata.so.NN, 32 MB) to about 3 MB.

Qt links ICU for collation, case mapping, codecs and time zones, and ICU keeps all its data in one
blob: locale data for 700+ locales, dictionaries for Thai/CJK word breaking, 200 legacy code pages.
The tray app's UI is English only, so the bundle keeps what every locale falls back on (root and
English data, Unicode properties, normalization, the root collation table and the break rules) and
leaves out the rest. ICU falls back to root for a locale it does not find, as it always does.

How: read the blob (ICU's "common data" .dat format) from the exported `icudtNN_dat` symbol,
rebuild the table of contents with the kept items, and link it into a data-only shared library
with the same soname (the assembler's .incbin, via gcc). macOS and Windows builds use the
system's ICU, so this is Linux only.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ALIGN = 16  # ICU requires every item, and the blob itself, on a 16-byte boundary
KEEP_LOCALES = frozenset({"root", "en", "en_US", "en_US_POSIX"})
# Whole trees nothing in Qt reads: transliterators, spelled-out numbers.
DROP_TREES = frozenset({"translit", "rbnf"})
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*$")


class IcuDataError(ValueError):
    """The library or blob is not what this module understands."""


def _elf_symbol(image: bytes, wanted: re.Pattern[str]) -> tuple[str, int, int]:
    """(name, file offset, size) of the first exported symbol matching `wanted` (ELF64, little-endian)."""
    if image[:4] != b"\x7fELF" or image[4] != 2 or image[5] != 1:
        raise IcuDataError("not a 64-bit little-endian ELF file")
    e_phoff, e_shoff = struct.unpack_from("<QQ", image, 0x20)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", image, 0x36)
    sections = [struct.unpack_from("<IIQQQQIIQQ", image, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    dynsym = next((s for s in sections if s[1] == 11), None)  # SHT_DYNSYM
    if dynsym is None:
        raise IcuDataError("no dynamic symbol table")
    strtab = sections[dynsym[6]]  # sh_link points at the string table
    for index in range(dynsym[5] // 24):
        st_name, _info, _other, _shndx, st_value, st_size = struct.unpack_from(
            "<IBBHQQ", image, dynsym[4] + index * 24
        )
        end = image.index(b"\0", strtab[4] + st_name)
        name = image[strtab[4] + st_name : end].decode("ascii")
        if st_value and wanted.fullmatch(name):
            for i in range(e_phnum):
                p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = struct.unpack_from(
                    "<IIQQQQQQ", image, e_phoff + i * e_phentsize
                )
                if p_type == 1 and p_vaddr <= st_value < p_vaddr + p_filesz:  # PT_LOAD
                    return name, st_value - p_vaddr + p_offset, st_size
            raise IcuDataError(f"{name} is not in a loaded segment")
    raise IcuDataError(f"no symbol matching {wanted.pattern}")


def read_blob(library: Path) -> tuple[str, bytes]:
    """(symbol name, .dat bytes) of an ICU data library."""
    image = library.read_bytes()
    name, offset, size = _elf_symbol(image, re.compile(r"icudt\d+_dat"))
    return name, image[offset : offset + size]


def parse(blob: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split a common-data blob into its header and its (name, item bytes) entries, in table order."""
    if len(blob) < 32:
        raise IcuDataError("blob too short")
    header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, 0)
    if (magic1, magic2) != (0xDA, 0x27) or blob[12:16] != b"CmnD" or blob[8] != 0:
        raise IcuDataError("not a little-endian ICU common data (CmnD) blob")
    count = struct.unpack_from("<I", blob, header_size)[0]
    toc = [struct.unpack_from("<II", blob, header_size + 4 + 8 * i) for i in range(count)]
    starts = [header_size + data for _name, data in toc] + [len(blob)]
    entries = []
    for i, (name_offset, _data) in enumerate(toc):
        at = header_size + name_offset
        name = blob[at : blob.index(b"\0", at)].decode("ascii")
        entries.append((name, blob[starts[i] : starts[i + 1]]))
    return blob[:header_size], entries


def build(header: bytes, entries: list[tuple[str, bytes]]) -> bytes:
    """A common-data blob with these entries (sorted by name, as ICU's binary search expects)."""
    entries = sorted(entries, key=lambda e: e[0].encode("ascii"))
    header_size = len(header)
    if header_size % ALIGN:
        raise IcuDataError("header not 16-byte aligned")
    toc_size = 4 + 8 * len(entries)
    encoded = [name.encode("ascii") + b"\0" for name, _item in entries]
    name_offsets = []
    offset = toc_size
    for name in encoded:
        name_offsets.append(offset)
        offset += len(name)
    names = b"".join(encoded)
    data_at = toc_size + len(names)
    data_at += -(header_size + data_at) % ALIGN
    toc = [struct.pack("<I", len(entries))]
    body: list[bytes] = []
    body_size = 0
    for (_name, item), name_offset in zip(entries, name_offsets, strict=True):
        toc.append(struct.pack("<II", name_offset, data_at + body_size))
        padded = item + b"\0" * (-len(item) % ALIGN)
        body.append(padded)
        body_size += len(padded)
    pad = b"\xaa" * (data_at - toc_size - len(names))  # ICU's own pkgdata pads with 0xAA
    return b"".join([header, *toc, names, pad, *body])


def keep(name: str) -> bool:
    """True for an item the tray app can need: see the module docstring."""
    parts = name.split("/")[1:]  # drop the "icudt73l" package prefix
    if not parts:
        return False
    tree, leaf = (parts[0], parts[-1]) if len(parts) > 1 else ("", parts[0])
    stem, _, ext = leaf.rpartition(".")
    if tree in DROP_TREES or ext in ("cnv", "dict") or leaf == "unames.icu":
        return False  # legacy code pages, word dictionaries, character names
    if ext == "res" and _LOCALE.match(stem) and stem not in ("pool", "res_index"):
        return stem in KEEP_LOCALES
    return True


def trimmed_blob(blob: bytes) -> bytes:
    """The blob with only the kept items."""
    header, entries = parse(blob)
    return build(header, [(n, item) for n, item in entries if keep(n)])


def link_library(blob: bytes, symbol: str, soname: str, out: Path) -> Path:
    """A data-only shared library exporting `symbol` = blob, built with gcc."""
    with tempfile.TemporaryDirectory() as tmp:
        dat = Path(tmp) / "icudata.dat"
        dat.write_bytes(blob)
        source = Path(tmp) / "icudata.S"
        source.write_text(
            f".section .rodata\n.globl {symbol}\n.type {symbol}, @object\n.balign {ALIGN}\n"
            f'{symbol}:\n.incbin "{dat}"\n.size {symbol}, . - {symbol}\n'
            '.section .note.GNU-stack,"",@progbits\n',
            encoding="ascii",
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["gcc", "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(out), str(source)], check=True
        )
    return out


def trim_library(source: Path, out_dir: Path) -> Path:
    """Write a trimmed copy of an ICU data library (same file name and soname) into out_dir."""
    symbol, blob = read_blob(source)
    return link_library(trimmed_blob(blob), symbol, source.name, out_dir / source.name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: icu_trim.py LIBICUDATA OUT_DIR")
    result = trim_library(Path(sys.argv[1]), Path(sys.argv[2]))
    print(
        f"{sys.argv[1]}: {Path(sys.argv[1]).stat().st_size} bytes -> {result}: {result.stat().st_size} bytes"
    )
