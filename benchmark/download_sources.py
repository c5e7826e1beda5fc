"""The public datasets `python -m benchmark data download NAME` knows: where each file is, its checksum and
where that checksum was published, how it is unpacked, and how the gated sets are obtained.

Every URL, size and hash below is the publisher's (or a maintained third party's), with the source named in
``hash_source``; a file with no published checksum has ``sha256=None`` and is fetched only with
``--no-hash-check`` (the SHA-256 of what arrived is then printed, to be recorded).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from benchmark import download_layouts as layouts


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: ``name`` is the file name on disk (and under a ``--mirror``)."""

    name: str
    url: str
    sha256: str | None
    size: int | None
    hash_source: str


@dataclass(frozen=True)
class DataCheck:
    """`data check` on an unpacked folder: a dataset name, the folder under ``--to``, `--set` overrides."""

    dataset: str
    folder: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A downloadable (``files``) or gated (``gated``: how to obtain it) dataset."""

    name: str
    title: str
    citation: str
    files: tuple[RemoteFile, ...] = ()
    layout: layouts.Layout | None = None  # arranges the extracted archives into the readers' layout
    output: str = ""  # the folder under --to that `layout` fills
    checks: tuple[DataCheck, ...] = ()
    verify: layouts.Verify | None = None  # a lighter check where loading every image is too much
    gated: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


NIR_REPO = "zhuoranzma/Deep-learning-for-in-vivo-near-infrared-imaging"
NIR_COMMIT = "8d35addecc41cafaba6bb36815cfeb16fdd571e8"  # the commit of the datasets.zip LFS pointer read

DIV2K_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K"
DIV2K_HASHES = "tensorflow/datasets, tensorflow_datasets/url_checksums/div2k.txt"

SOURCES: dict[str, Source] = {s.name: s for s in (
    Source(
        name="nir",
        title="Ma et al. NIR-I/IIa and NIR-IIb whole-body mouse images (CycleGAN training data)",
        citation="Ma et al., Deep learning for in vivo near-infrared imaging, PNAS 118(1), 2021",
        files=(RemoteFile(
            name="datasets.zip",
            url=f"https://media.githubusercontent.com/media/{NIR_REPO}/{NIR_COMMIT}/datasets.zip",
            sha256="68942058d7bf104b178bc277bbc93b7434c9bbba93e1ce0207760bcadc509379", size=422_416_668,
            hash_source=f"the Git LFS pointer of datasets.zip in {NIR_REPO} (commit {NIR_COMMIT[:7]})"),),
        layout=layouts.nir, output="nir", checks=(DataCheck("nir", "nir"),),
        notes=(("The release has train/ and val/ (its README: val holds the images to translate): val "
                "becomes test/, and every 10th training image of A and of B (sorted by name) becomes "
                "val/."),)),
    Source(
        name="isl",
        title="In silico labeling data sample (confocal max projections: FI-GAN's x4 fine-tuning images)",
        citation="Christiansen et al., In silico labeling: predicting fluorescent labels in unlabeled "
                 "images, Cell 2018",
        files=(RemoteFile(
            name="data_sample.zip", url="https://storage.googleapis.com/in-silico-labeling/data_sample.zip",
            sha256=None, size=None,
            hash_source="google/in-silico-labeling's README gives only the URL and '2 GB'"),),
        layout=layouts.isl, output="isl", checks=(DataCheck("fluorescence", "isl"),),
        notes=(("Only the fluorescence channels' max projections (depth_computation-MAXPROJECT, "
                "channel-*_CONFOCAL, is_mask-false) are kept, in isl/hr/."),)),
    Source(
        name="div2k",
        title="DIV2K high-resolution images, train (800) and validation (100): FI-GAN's pre-training source",
        citation="Agustsson and Timofte, NTIRE 2017 challenge on single image super-resolution: dataset and "
                 "study, CVPRW 2017",
        files=(
            RemoteFile(name="DIV2K_train_HR.zip", url=f"{DIV2K_URL}/DIV2K_train_HR.zip",
                       sha256="9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
                       size=3_530_603_713, hash_source=DIV2K_HASHES),
            RemoteFile(name="DIV2K_valid_HR.zip", url=f"{DIV2K_URL}/DIV2K_valid_HR.zip",
                       sha256="20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
                       size=448_993_893, hash_source=DIV2K_HASHES)),
        layout=layouts.div2k, output="div2k", verify=layouts.verify_div2k,
        notes=(("All 900 images go to div2k/hr/ (the fluorescence dataset's hr layout, read as grey). "
                "Loading them all takes tens of GB, so the check counts them and reads the first and "
                "last."),)),
    Source(
        name="w2s",
        title="W2S (Widefield2SIM) raw data: widefield captures and SIM of 120 fields x 3 channels",
        citation="Zhou et al., W2S: a joint denoising and super-resolution dataset, arXiv:2003.05961, 2020",
        files=(RemoteFile(
            name="W2S_raw.zip", url="https://datasets.epfl.ch/w2s/W2S_raw.zip", sha256=None, size=None,
            hash_source="IVRL/w2s's README gives only the URL"),),
        layout=layouts.w2s, output="w2s", checks=(DataCheck("paired-folder", "w2s"),),
        notes=(("Unpacked for denoising as a paired-folder: source = the single capture avg1 (index 249, "
                "as the W2S README defines it), target = the mean of all 400 captures (the noise-free "
                "widefield image), 16-bit and float32 TIFF per field and channel. Fields 001-072 train, "
                "073-080 val (our choice), 081-120 test (the W2S test set)."),)),
    Source(
        name="fmd",
        title="FMD: fluorescence microscopy denoising (12 sample/microscope types, 5 noise levels)",
        citation="Zhang et al., A Poisson-Gaussian denoising dataset with real fluorescence microscopy "
                 "images, CVPR 2019",
        gated=("FMD is shared as a Google Drive folder, which needs a browser: "
               "https://drive.google.com/drive/folders/1aygMzSDdoq63IqSk-ly8cMq0_owup8UM (linked from "
               "yinhaoz/denoising-fluorescence's README; its download_dataset.sh fetches it per microscope). "
               "Unpack it so that DIR/<Type>/{raw,avg2,avg4,avg8,avg16,gt}/<fov>/ and DIR/test_mix/ exist, "
               "then run: python -m benchmark data check --data fmd --data-root DIR")),
    Source(
        name="ulf-enc",
        title="ULF-EnC challenge: paired 64 mT / 3 T brain MRI",
        citation="ULF-EnC: Ultra-Low-Field MRI Image Enhancement Challenge, 2025",
        gated=("The ULF-EnC data are released to registered participants on Synapse: "
               "https://www.synapse.org/Synapse:syn65485242/wiki/631224 (linked from "
               "khtohidulislam/ULF-EnC-Challenge's README); sign in, accept the data terms and download. The "
               "data come as <subject>/{64mT,3T}/<subject>_<T1|T2>.nii.gz, the mri dataset's paired layout: "
               "python -m benchmark data check --data mri --data-root DIR")),
)}
