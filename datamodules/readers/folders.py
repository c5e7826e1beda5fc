"""List the images of a folder and match two folders by file name.

Why: every real layout of the suite is "folders of PNG/TIFF files, partners share a name". Matching is by stem
(``pair1.tif`` matches ``pair1.png``), so a dataset may mix the two formats. A name is the file name without
its suffix, a double suffix such as ``.nii.gz`` included (:func:`image_name`).
"""
from __future__ import annotations

from pathlib import Path

from benchmark.errors import DataError
from datamodules.readers.images import IMAGE_SUFFIXES


def suffix_of(path: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> str | None:
    """The suffix among ``suffixes`` the file name ends with (case-insensitive, longest first), else None."""
    lower = path.name.lower()
    for suffix in sorted(suffixes, key=len, reverse=True):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return suffix
    return None


def image_name(path: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> str:
    """The file name without its image suffix (``a.nii.gz`` -> ``a``); the plain stem for other files."""
    suffix = suffix_of(path, suffixes)
    return path.name[: -len(suffix)] if suffix else path.stem


def list_images(folder: str | Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
                kind: str = "PNG/TIFF images") -> list[Path]:
    """The image files (``suffixes``) directly in ``folder``, sorted by name; DataError if missing, empty or
    ambiguous (two files of one name). ``kind`` names the expected files in those messages."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found (expected a folder of {kind})")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and suffix_of(p, suffixes) and not p.name.startswith("."))
    if not files:
        raise DataError(f"{folder}: no {kind} in the folder")
    names: dict[str, Path] = {}
    for path in files:
        name = image_name(path, suffixes)
        if name in names:
            raise DataError(f"{path}: two images share the name {name!r} "
                            f"({names[name].name}); names must be unique within a folder")
        names[name] = path
    return files


def by_stem(files: list[Path], suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> dict[str, Path]:
    """Name (without extension) -> file."""
    return {image_name(p, suffixes): p for p in files}


def match(a_files: list[Path], b_files: list[Path], suffixes: tuple[str, ...] = IMAGE_SUFFIXES
          ) -> tuple[list[tuple[Path, Path]], list[Path], list[Path]]:
    """Pairs with equal names (sorted by name), then the files of A and of B without a partner."""
    a, b = by_stem(a_files, suffixes), by_stem(b_files, suffixes)
    pairs = [(a[name], b[name]) for name in sorted(a.keys() & b.keys())]
    return pairs, [a[n] for n in sorted(a.keys() - b.keys())], [b[n] for n in sorted(b.keys() - a.keys())]
