"""The read-only folder tools never leave the chosen folders (.., absolute paths, symlinks out, loops),
and every answer is bounded."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from app.tools.file_tools import MAX_LIST_ENTRIES, MAX_READ_BYTES, FileTools
from app.tools.folders import FolderGuard, PathRefusedError, labels


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A shared folder 'Shared' beside a secret that must stay out of reach."""
    shared = tmp_path / "Shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "hello.txt").write_text("hello world\nsecond line\n", encoding="utf-8")
    (shared / "sub" / "deep.md").write_text("# Deep\nthe needle is here\n", encoding="utf-8")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.txt").write_text("needle hunter2\n", encoding="utf-8")
    return {"shared": shared, "secret": secret, "root": tmp_path}


@pytest.fixture
def files(tree: dict[str, Path]) -> FileTools:
    return FileTools(FolderGuard(lambda: [tree["shared"]]))


def refused(call: Callable[[], object]) -> str:
    with pytest.raises(PathRefusedError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("path", ["Shared/../secret/passwords.txt", "Shared/sub/../../secret/passwords.txt",
                                  "../secret/passwords.txt", "Shared\\..\\secret\\passwords.txt"])
def test_dot_dot_refused(files: FileTools, path: str) -> None:
    assert "'..'" in refused(lambda: files.read_file(path))


def test_absolute_paths_refused(files: FileTools, tree: dict[str, Path]) -> None:
    for path in [str(tree["secret"] / "passwords.txt"), "/etc/passwd", "C:/Windows/win.ini", "~/x"]:
        assert "absolute" in refused(partial(files.read_file, path))


def test_symlink_out_refused_and_hidden(files: FileTools, tree: dict[str, Path]) -> None:
    (tree["shared"] / "escape.txt").symlink_to(tree["secret"] / "passwords.txt")
    (tree["shared"] / "escape_dir").symlink_to(tree["secret"], target_is_directory=True)
    assert "outside" in refused(lambda: files.read_file("Shared/escape.txt"))
    assert "outside" in refused(lambda: files.read_file("Shared/escape_dir/passwords.txt"))
    assert "outside" in refused(lambda: files.list_files("Shared/escape_dir"))
    names = [e["name"] for e in files.list_files("Shared")["entries"]]
    assert names == ["hello.txt", "sub"]
    found = files.search_files("needle")["results"]
    assert [r["path"] for r in found] == ["Shared/sub/deep.md"]


def test_symlink_inside_is_followed(files: FileTools, tree: dict[str, Path]) -> None:
    (tree["shared"] / "link.txt").symlink_to(tree["shared"] / "hello.txt")
    assert files.read_file("Shared/link.txt")["text"].startswith("hello world")


def test_symlink_loop_refused(files: FileTools, tree: dict[str, Path]) -> None:
    (tree["shared"] / "a").symlink_to(tree["shared"] / "b")
    (tree["shared"] / "b").symlink_to(tree["shared"] / "a")
    assert "cannot be opened" in refused(lambda: files.read_file("Shared/a"))
    assert [e["name"] for e in files.list_files("Shared")["entries"]] == ["hello.txt", "sub"]
    assert files.search_files("needle")["complete"] is True


def test_shared_folder_itself_a_symlink_is_allowed(tmp_path: Path, tree: dict[str, Path]) -> None:
    alias = tmp_path / "Alias"
    alias.symlink_to(tree["shared"], target_is_directory=True)
    tools = FileTools(FolderGuard(lambda: [alias]))
    assert tools.read_file("Alias/hello.txt")["text"].startswith("hello")


def test_unknown_folder_and_missing_file(files: FileTools) -> None:
    assert "no shared folder named 'Other'" in refused(lambda: files.read_file("Other/x.txt"))
    assert "does not exist" in refused(lambda: files.read_file("Shared/nope.txt"))


def test_nothing_shared_says_so() -> None:
    tools = FileTools(FolderGuard(lambda: []))
    assert tools.list_files()["entries"] == []
    assert "no folders are shared" in refused(lambda: tools.read_file("Shared/hello.txt"))


def test_list_root_and_folder(files: FileTools) -> None:
    assert files.list_files()["entries"] == [{"name": "Shared", "type": "folder"}]
    entries = files.list_files("Shared")["entries"]
    assert [(e["name"], e["type"]) for e in entries] == [("hello.txt", "file"), ("sub", "folder")]
    assert entries[0]["size"] == len("hello world\nsecond line\n")


def test_list_is_bounded(files: FileTools, tree: dict[str, Path]) -> None:
    many = tree["shared"] / "many"
    many.mkdir()
    for i in range(MAX_LIST_ENTRIES + 5):
        (many / f"f{i:04}.txt").touch()
    listing = files.list_files("Shared/many")
    assert len(listing["entries"]) == MAX_LIST_ENTRIES and listing["truncated"] is True


def test_read_is_bounded_and_resumable(files: FileTools, tree: dict[str, Path]) -> None:
    text = "é" * (MAX_READ_BYTES // 2 + 10)  # two bytes each: more than one read's worth
    (tree["shared"] / "big.txt").write_text(text, encoding="utf-8")
    first = files.read_file("Shared/big.txt", max_bytes=10 * MAX_READ_BYTES)
    assert len(first["text"].encode()) <= MAX_READ_BYTES
    second = files.read_file("Shared/big.txt", offset=first["next_offset"], max_bytes=MAX_READ_BYTES)
    assert "next_offset" not in second
    assert first["text"] + second["text"] == text  # no character cut in half


def test_odd_offset_never_splits_a_character(files: FileTools, tree: dict[str, Path]) -> None:
    (tree["shared"] / "u.txt").write_text("aéb", encoding="utf-8")
    part = files.read_file("Shared/u.txt", max_bytes=2)
    assert part["text"] == "a" and part["next_offset"] == 1


def test_binary_refused(files: FileTools, tree: dict[str, Path]) -> None:
    (tree["shared"] / "image.bin").write_bytes(b"\x89PNG\0\0\x01")
    assert "binary" in refused(lambda: files.read_file("Shared/image.bin"))


def test_search_by_name_and_text(files: FileTools) -> None:
    results = files.search_files("HELLO")["results"]
    assert results == [{"path": "Shared/hello.txt", "match": "name"}]
    deep = files.search_files("needle", path="Shared/sub")["results"]
    assert deep == [{"path": "Shared/sub/deep.md", "match": "text",
                     "lines": [{"line": 2, "text": "the needle is here"}]}]
    assert "empty" in refused(lambda: files.search_files("  "))


def test_search_stops_at_max_results(files: FileTools, tree: dict[str, Path]) -> None:
    for i in range(5):
        (tree["shared"] / f"match{i}.txt").touch()
    found = files.search_files("match", max_results=2)
    assert len(found["results"]) == 2 and found["complete"] is False


def test_same_names_get_distinct_labels(tmp_path: Path) -> None:
    a, b = tmp_path / "x" / "Docs", tmp_path / "y" / "Docs"
    assert list(labels([a, b])) == ["Docs", "Docs (2)"]


def test_nul_in_path_refused(files: FileTools) -> None:
    assert "NUL" in refused(lambda: files.read_file("Shared/hello.txt\0.png"))
