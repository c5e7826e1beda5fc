"""List the images of a folder and match two folders by file name.

Why: every real layout of the suite is "folders of PNG/TIFF files, partners share a name". Matching is by stem
(``pair1.tif`` matches ``pair1.png``), so a dataset may mix the two formats.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.errors import DataError
from datamodules.readers.images import IMAGE_SUFFIXES


def list_images(folder: str | Path) -> list[Path]:
    """The PNG/TIFF files directly in ``folder``, sorted by name; DataError if missing, empty or ambiguous."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found (expected a folder of PNG/TIFF images)")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise DataError(f"{folder}: no PNG/TIFF images in the folder")
    stems: dict[str, Path] = {}
    for path in files:
        if path.stem in stems:
            raise DataError(f"{path}: two images share the name {path.stem!r} "
                            f"({stems[path.stem].name}); names must be unique within a folder")
        stems[path.stem] = path
    return files


def by_stem(files: list[Path]) -> dict[str, Path]:
    """Name (without extension) -> file."""
    return {p.stem: p for p in files}


def match(a_files: list[Path], b_files: list[Path]) -> tuple[list[tuple[Path, Path]], list[Path], list[Path]]:
    """Pairs with equal stems (sorted by name), then the files of A and of B without a partner."""
    a, b = by_stem(a_files), by_stem(b_files)
    pairs = [(a[name], b[name]) for name in sorted(a.keys() & b.keys())]
    return pairs, [a[n] for n in sorted(a.keys() - b.keys())], [b[n] for n in sorted(b.keys() - a.keys())]
