"""Unpacked archives -> the layouts the readers expect, one function per public dataset.

Each layout moves files out of the extracted archives (``extracted``, a scratch folder that is deleted
afterwards) into ``out``; a release whose structure is not the expected one fails with one line naming the
archive folder and what was looked for.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import DataError
from datamodules.readers import IMAGE_SUFFIXES, read_array, suffix_of

Layout = Callable[[Path, Path], None]
Verify = Callable[[Path], dict[str, Any]]
VAL_EVERY = 10  # NIR: every 10th training image (sorted by name) is held out for validation


def _folders(extracted: Path) -> Iterable[Path]:
    """Every folder of the extracted tree (itself first), macOS resource forks skipped."""
    yield extracted
    for path in sorted(extracted.rglob("*")):
        if path.is_dir() and "__MACOSX" not in path.parts:
            yield path


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and suffix_of(p, IMAGE_SUFFIXES))


def _move(files: Iterable[Path], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in files:
        os.replace(path, folder / path.name)
        count += 1
    return count


def nir(extracted: Path, out: Path) -> None:
    """Ma et al.'s ``<x>/{train,val}/{A,B}`` -> ``{train,val,test}/{A,B}``: their val is our test (their
    README puts the images to translate there); every 10th training image of A and of B is our val. A
    release with its own test/ keeps val/ and test/ as they are."""
    root = next((d for d in _folders(extracted) if all((d / "train" / side).is_dir() for side in "AB")), None)
    if root is None:
        raise DataError(f"{extracted}: no <folder>/train/A and train/B in the archive (expected Ma et al.'s "
                        "datasets/NIRI_to_NIRII/{train,val}/{A,B}/)")
    has_test = (root / "test").is_dir()
    for side in ("A", "B"):
        train = _images(root / "train" / side)
        held = [] if has_test else train[::VAL_EVERY]
        _move([p for p in train if p not in held], out / "train" / side)
        _move(held, out / "val" / side)
        for theirs, ours in (("test", "test"), ("val", "val")) if has_test else (("val", "test"),):
            if not (root / theirs / side).is_dir():
                raise DataError(f"{root / theirs / side}: folder not found in the archive")
            _move(_images(root / theirs / side), out / ours / side)


ISL_FLUORESCENCE = re.compile(r"depth_computation-MAXPROJECT,channel-[A-Z0-9_]*_CONFOCAL,is_mask-false\.png$")


def isl(extracted: Path, out: Path) -> None:
    """The in-silico-labeling sample -> ``hr/``: only the confocal fluorescence max projections."""
    files = sorted(p for p in extracted.rglob("*.png") if ISL_FLUORESCENCE.search(p.name))
    if not files:
        raise DataError(f"{extracted}: no confocal max-projection PNG (…depth_computation-MAXPROJECT,channel-"
                        "<NAME>_CONFOCAL,is_mask-false.png) in the archive")
    names = [p.name for p in files]
    if len(set(names)) != len(names):  # conditions share file names: prefix the condition folder
        files_named = [(p, f"{p.parent.name}_{p.name}") for p in files]
    else:
        files_named = [(p, p.name) for p in files]
    (out / "hr").mkdir(parents=True, exist_ok=True)
    for path, name in files_named:
        os.replace(path, out / "hr" / name)


def div2k(extracted: Path, out: Path) -> None:
    """``DIV2K_train_HR/`` and ``DIV2K_valid_HR/`` -> ``hr/`` (the fluorescence dataset's hr layout)."""
    folders = [d for d in _folders(extracted) if re.fullmatch(r"DIV2K_(train|valid)_HR", d.name)]
    if not folders:
        raise DataError(f"{extracted}: no DIV2K_train_HR/ or DIV2K_valid_HR/ folder in the archives")
    for folder in folders:
        _move(_images(folder), out / "hr")


def verify_div2k(out: Path) -> dict[str, Any]:
    """Count the images and decode the first and the last (loading all 900 would take tens of GB)."""
    files = _images(out / "hr")
    if not files:
        raise DataError(f"{out / 'hr'}: no images after unpacking")
    shapes = {p.name: list(read_array(p)[0].shape) for p in (files[0], files[-1])}
    return {"dataset": "fluorescence (hr folder)", "source": str(out), "images": len(files),
            "decoded": shapes}


W2S_FIELD = re.compile(r"Image(\d{3})$")
W2S_AVG1_INDEX = 249  # the W2S README: "index 249: used for avg1, which is a single capture noisy image"
W2S_SPLITS = ((range(1, 73), "train"), (range(73, 81), "val"), (range(81, 121), "test"))


def w2s(extracted: Path, out: Path) -> None:
    """W2S raw ``Image<nnn>/wf_channel<c>.npy`` (400 widefield captures) -> a paired-folder for denoising:
    source = capture 249 (W2S's avg1), target = the mean of the 400 captures, per field and channel."""
    import tifffile

    fields = [d for d in _folders(extracted)
              if W2S_FIELD.fullmatch(d.name) and any(d.glob("wf_channel*.npy"))]
    if not fields:
        raise DataError(f"{extracted}: no Image<nnn>/wf_channel<c>.npy in the archive (expected the W2S raw "
                        "data layout)")
    for field in fields:
        number = int(W2S_FIELD.fullmatch(field.name).group(1))
        split = next((name for numbers, name in W2S_SPLITS if number in numbers), None)
        if split is None:
            raise DataError(f"{field}: field number {number} outside W2S's 001-120")
        for stack_path in sorted(field.glob("wf_channel*.npy")):
            stack = np.load(stack_path, mmap_mode="r")
            if stack.ndim != 3 or stack.shape[0] <= W2S_AVG1_INDEX:
                raise DataError(f"{stack_path}: expected a stack of 400 captures (N, H, W), got "
                                f"{tuple(stack.shape)}")
            channel = stack_path.stem.removeprefix("wf_channel")
            name = f"{field.name}_c{channel}.tif"
            for role, image in (("source", np.asarray(stack[W2S_AVG1_INDEX])),
                                ("target", stack.mean(axis=0, dtype=np.float64).astype(np.float32))):
                (out / split / role).mkdir(parents=True, exist_ok=True)
                tifffile.imwrite(out / split / role / name, image)
