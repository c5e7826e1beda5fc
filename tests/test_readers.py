"""PNG/TIFF readers: bit depths, colour conversion, normalisation, folder matching and bad files."""
from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import torch

from benchmark.errors import DataError
from datamodules.readers import list_images, match, normalize, read_array, read_image, read_mask, read_tensor


def _ramp(dtype: type, top: int) -> np.ndarray:
    return (np.linspace(0, 1, 24 * 32).reshape(24, 32) * top).round().astype(dtype)


def test_png_8_and_16_bit_scale_by_dtype(tmp_path: Path) -> None:
    iio.imwrite(tmp_path / "a8.png", _ramp(np.uint8, 255))
    iio.imwrite(tmp_path / "a16.png", _ramp(np.uint16, 65535))
    for name in ("a8.png", "a16.png"):
        image = read_image(tmp_path / name)
        assert image.dtype == np.float32 and image.shape == (24, 32)
        assert image.min() == 0.0 and image.max() == 1.0
    assert np.allclose(read_image(tmp_path / "a8.png"), read_image(tmp_path / "a16.png"), atol=1 / 255)


def test_rgb_and_rgba_become_luma(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 255, 128, 10
    iio.imwrite(tmp_path / "rgb.png", rgb)
    iio.imwrite(tmp_path / "rgba.png", np.concatenate([rgb, np.full((8, 8, 1), 255, np.uint8)], axis=2))
    expected = (0.2989 * 255 + 0.5870 * 128 + 0.1140 * 10) / 255
    assert np.allclose(read_image(tmp_path / "rgb.png"), expected, atol=1e-5)
    assert np.allclose(read_image(tmp_path / "rgba.png"), expected, atol=1e-5)


def test_tiff_integer_and_float(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "u16.tif", _ramp(np.uint16, 65535))
    tifffile.imwrite(tmp_path / "f32.tiff", np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8))
    assert read_image(tmp_path / "u16.tif").max() == 1.0
    assert np.allclose(read_image(tmp_path / "f32.tiff").ravel(), np.linspace(0, 1, 64), atol=1e-6)
    tensor = read_tensor(tmp_path / "u16.tif")
    assert tensor.shape == (1, 24, 32) and tensor.dtype == torch.float32


def test_per_image_normalisation(tmp_path: Path) -> None:
    image = np.full((50, 50), 1000, np.uint16)
    image[10:20, 10:20] = 3000
    image[0, 0] = 65535  # hot pixel: ignored by the robust percentiles, dominates plain min-max
    tifffile.imwrite(tmp_path / "hot.tif", image)
    robust = read_image(tmp_path / "hot.tif", "percentile")
    plain = read_image(tmp_path / "hot.tif", "minmax")
    assert robust[15, 15] == 1.0 and robust[30, 30] == 0.0
    assert plain[15, 15] < 0.05 and plain[0, 0] == 1.0
    assert np.array_equal(normalize(np.zeros((4, 4)), "percentile"), np.zeros((4, 4), np.float32))


def test_float_outside_unit_range_needs_normalisation(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "big.tif", np.full((4, 4), 7.5, np.float32))
    with pytest.raises(DataError, match="big.tif"):
        read_image(tmp_path / "big.tif")
    assert read_image(tmp_path / "big.tif", "minmax").max() == 0.0


def test_mask_is_bool(tmp_path: Path) -> None:
    mask = np.zeros((6, 6), np.uint8)
    mask[2:4, 2:4] = 255
    iio.imwrite(tmp_path / "m.png", mask)
    loaded = read_mask(tmp_path / "m.png")
    assert loaded.dtype == torch.bool and loaded.shape == (1, 6, 6) and int(loaded.sum()) == 4


@pytest.mark.parametrize("name", ["bad.png", "bad.tif"])
def test_corrupt_file(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"\x00garbage, not an image" * 10)
    with pytest.raises(DataError, match=name):
        read_image(tmp_path / name)


def test_non_finite_tiff(tmp_path: Path) -> None:
    data = np.zeros((4, 4), np.float32)
    data[1, 1] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", data)
    with pytest.raises(DataError, match=r"nan\.tif.*non-finite"):
        read_image(tmp_path / "nan.tif")


@pytest.mark.parametrize("shape", [(8, 8, 2), (8, 8, 5), (3, 8, 8, 2)])
def test_unsupported_channel_count(tmp_path: Path, shape: tuple[int, ...]) -> None:
    tifffile.imwrite(tmp_path / "multi.tif", np.zeros(shape, np.uint8))
    with pytest.raises(DataError, match=r"multi\.tif.*unsupported image shape"):
        read_image(tmp_path / "multi.tif")


def test_unsupported_dtype_and_format(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "i32.tif", np.zeros((4, 4), np.int32))
    with pytest.raises(DataError, match=r"i32\.tif.*pixel type"):
        read_array(tmp_path / "i32.tif")
    (tmp_path / "x.jpg").write_bytes(b"jpeg")
    with pytest.raises(DataError, match=r"x\.jpg"):
        read_image(tmp_path / "x.jpg")
    with pytest.raises(DataError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        list_images(tmp_path / "empty")
    with pytest.raises(DataError, match="nowhere"):
        list_images(tmp_path / "nowhere")
    for folder, names in (("A", ["x.png", "y.tif"]), ("B", ["x.tif", "z.png"])):
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_bytes(b"")
    pairs, only_a, only_b = match(list_images(tmp_path / "A"), list_images(tmp_path / "B"))
    assert [(a.name, b.name) for a, b in pairs] == [("x.png", "x.tif")]
    assert [p.name for p in only_a] == ["y.tif"] and [p.name for p in only_b] == ["z.png"]
    (tmp_path / "A" / "x.tif").write_bytes(b"")
    with pytest.raises(DataError, match="x"):
        list_images(tmp_path / "A")


def test_real_samples(shared_data: Path) -> None:
    """Every real sample decodes to grey float32 in [0, 1] with the size its README states."""
    expected = {"fmd/test_mix/raw/Confocal_FISH_3.png": (512, 512),
                "fluorescence/hr/isl_condition_blue_DAPI_confocal_maxproj.png": (1024, 1024),
                "fluorescence/hr/dsb2018_nuclei_img2d.tif": (512, 512),
                "fluorescence/srrf_pair/lr_two_photon.tif": (256, 256),
                "nir/nir_iia_unpaired/35.png": (512, 640),
                "nir/icg_pairs/test/A/pair1.tif": (400, 400)}
    for relative, shape in expected.items():
        image = read_image(shared_data / relative)
        assert image.shape == shape and image.dtype == np.float32, relative
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0
    _, dtype = read_array(shared_data / "fluorescence/hr/isl_condition_blue_NFH_confocal_maxproj.png")
    assert dtype == np.uint16
