"""The dataset registry: every dataset the benchmark names, where it comes from and what makes it up.

No official checksums are published for most of these datasets: where ``sha256`` is ``None`` the toolkit records
the checksums of the first download in ``zero-bench.lock.json`` next to the data, then checks them on every later
download / verify (see :mod:`zero_bench.data.lock`).  A ``sha256`` given here is a pin: the download must match it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zero_bench.errors import ZeroBenchError
from zero_bench.taskspec import CLASSIFICATION_FORMATS, all_tasks, get_task

Kind = Literal["corpus", "task", "images", "toy"]

_ZERO_SITE = "http://zero.so.com"
_CCMB_LICENSE = "Research use only (terms of the Zero / CCMB release, zero.so.com)"


@dataclass(frozen=True)
class FileSpec:
    """One file (or folder, when ``folder`` is true) that makes up a dataset, relative to its install folder."""

    path: str
    description: str = ""
    sha256: str | None = None  # None: not published; recorded in the lock file at the first download
    folder: bool = False


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    kind: Kind
    title: str
    source: str  # where the data comes from, in words
    license: str
    folder: str  # install folder under the data root (shared by the five ccmb datasets)
    files: tuple[FileSpec, ...] = ()
    manual_steps: tuple[str, ...] = ()
    homepage: str | None = None
    citation: str | None = None
    tasks: tuple[str, ...] = ()  # task definitions this dataset provides
    size: str = ""
    notes: str = ""
    scripted: bool = False  # True when `zero-bench download NAME` can fetch it without --from
    extra: dict = field(default_factory=dict)

    @property
    def checksums_known(self) -> bool:
        return any(f.sha256 for f in self.files)

    def manual_text(self) -> str:
        lines = [f"{self.name}: {self.title}", f"  source: {self.source}", f"  licence: {self.license}"]
        if self.homepage:
            lines.append(f"  homepage: {self.homepage}")
        if self.files:
            lines.append("  files:")
            lines += [
                f"    {f.path}{'/' if f.folder else ''}  {f.description}"
                + (f" (sha256 {f.sha256})" if f.sha256 else "")
                for f in self.files
            ]
        pinned = [f.path for f in self.files if f.sha256]
        recorded = "recorded in zero-bench.lock.json at the first download"
        if not pinned:
            checksums = f"none published; {recorded}"
        elif len(pinned) == len(self.files):
            checksums = "published"
        else:
            checksums = f"pinned for {', '.join(pinned)}; the others {recorded}"
        lines.append(f"  checksums: {checksums}")
        if self.manual_steps:
            lines.append("  manual steps:")
            lines += [f"    {i}. {step}" for i, step in enumerate(self.manual_steps, 1)]
        return "\n".join(lines)


def _corpus(name: str, title: str, size: str, steps: tuple[str, ...], notes: str = "") -> DatasetEntry:
    return DatasetEntry(
        name=name,
        kind="corpus",
        title=title,
        size=size,
        folder=name,
        homepage=_ZERO_SITE,
        citation=get_task("icr").citation,  # the CCMB paper, which introduced the corpus and the tasks
        license=_CCMB_LICENSE,
        source="record files (JSON / JSON Lines, optionally .gz) with image URLs from zero.so.com; the images are "
        "fetched from their original URLs with img2dataset (expect dead links)",
        files=(
            FileSpec(
                "records",
                "official record files: fields Url, Title, Content, Keywords, ImageKey, ImageUrl, "
                "ImageQuery (shard file names are not published)",
                folder=True,
            ),
            FileSpec("images", "img2dataset output (parquet shards + per-shard stats), resumable", folder=True),
            FileSpec("corpus", "Arrow corpus (datasets format) + manifest.json", folder=True),
        ),
        manual_steps=steps,
        notes=notes,
    )


_ZERO_STEPS = (
    "Open http://zero.so.com, accept the research-use terms and download the record files of this corpus.",
    "Run: zero-bench download {name} --from <folder or archive with the record files>  (or an https:// / hf:// "
    "source). The records are copied to <data root>/{name}/records and the images fetched with img2dataset.",
)

_CCMB_STEPS = (
    "Open http://zero.so.com (or the links in github.com/yuxie11/R2D2), accept the research-use terms and download "
    "the CCMB downstream archive holding {what}.",
    "Run: zero-bench download {name} --from <archive or unpacked folder>  (zip, tar, tar.gz; URLs and hf:// work too). "
    "It is unpacked into <data root>/ccmb in the official layout.",
)


def task_files(task: str) -> tuple[FileSpec, ...]:
    """The files of a task dataset, from its task definition (``tasks/<task>.yaml``): each split's annotation
    (and image TSV), then the image folder.  A classification task: its class-name file, then one folder per split
    (one sub-folder per class)."""
    spec = get_task(task)
    files: list[FileSpec] = []
    if spec.format in CLASSIFICATION_FORMATS:
        if spec.labels:
            files.append(FileSpec(spec.labels, "class names, line i = class i"))
        files += [
            FileSpec(s.annotation, f"{split} split: one folder per class ({spec.format})", folder=True)
            for split, s in spec.splits.items()
        ]
        return tuple(files)
    for split, s in spec.splits.items():
        files.append(FileSpec(s.annotation, f"{split} split ({spec.format})"))
        if s.images:
            files.append(FileSpec(s.images, f"{split} images (base64 TSV)"))
    if spec.image_dir:
        files.append(FileSpec(spec.image_dir, "image files", folder=True))
    return tuple(files)


def _task_entry(name: str, **fields: object) -> DatasetEntry:
    """A task dataset's entry: folder, files, citation, licence and homepage come from its task definition
    (``files`` may be given, to pin a checksum)."""
    spec = get_task(name)
    files = fields.pop("files", None) or task_files(name)
    return DatasetEntry(
        name=name,
        kind="task",
        folder=spec.data_folder,
        files=files,  # type: ignore[arg-type]
        citation=spec.citation,
        license=spec.license,
        homepage=spec.homepage,
        tasks=(name,),
        **fields,  # type: ignore[arg-type]
    )


def _ccmb(name: str, title: str, size: str) -> DatasetEntry:
    what = ", ".join(f.path + ("/" if f.folder else "") for f in task_files(name))
    return _task_entry(
        name,
        title=title,
        size=size,
        source="CCMB downstream release (zero.so.com); distributed as an archive after accepting the terms",
        manual_steps=tuple(s.format(what=what, name=name) for s in _CCMB_STEPS),
    )


def _cnclip(name: str, title: str, source: str, steps: tuple[str, ...]) -> DatasetEntry:
    return _task_entry(name, title=title, source=source, manual_steps=steps)


CNCLIP_ARCHIVES = {"flickr30k-cn": "Flickr30k-CN.zip", "muge": "MUGE.zip"}  # Chinese-CLIP's README names them
COCO_CN_HUB = "hf://datasets/AIMClab-RUC/COCO-CN"  # the COCO-CN authors' release of the annotations
COCO_CN_ARCHIVE = "coco-cn-version1805v1.1.tar.gz"
COCO_IMAGES = "http://images.cocodataset.org"  # MS-COCO 2014 images: <base>/<train2014|val2014>/<name>.jpg


def _hub_cnclip(name: str, title: str, source: str, folder_name: str) -> DatasetEntry:
    """Flickr30k-CN / MUGE: Chinese-CLIP's pre-processed archive on the Hub, fetched by ``zero-bench download``."""
    archive = CNCLIP_ARCHIVES[name]
    return _task_entry(
        name,
        title=title,
        source=f"{source}; Chinese-CLIP's archive {archive} in {ELEVATER_HUB}",
        scripted=True,
        extra={"hub": ELEVATER_HUB, "archive": archive},
        manual_steps=(
            f"Run: zero-bench download {name}  (fetches {archive} from {ELEVATER_HUB} at the commit the Hub names, "
            "with retries; an interrupted run continues where it stopped; checked against the sha256 the Hub "
            f"publishes; the Chinese-CLIP layout files are unpacked into <data root>/{folder_name} and pinned in its "
            "lock file with the archive's commit).",
            f"Offline: get {archive} from the Hub page (or the link in Chinese-CLIP's README), then: zero-bench "
            f"download {name} --from <archive or unpacked folder>.",
        ),
    )


ELEVATER_HUB = "hf://datasets/OFA-Sys/chinese-clip-eval"  # Chinese-CLIP's evaluation data on the Hub
ELEVATER_ARCHIVE = "ELEVATER_all.zip"  # 37 GB: one <set>.zip per set, each unpacking to <set>/
# Chinese-CLIP's ImageNet class names (its zero-shot script's label_cn.txt), at the commit that last changed them.
IMAGENET_LABELS_URL = (
    "https://raw.githubusercontent.com/OFA-Sys/Chinese-CLIP/a305b032bffce0671592d897cabeca36a228f7de/"
    "datasets/ImageNet-1K/label_cn.txt"
)
IMAGENET_LABELS_SHA256 = "f7b6f4bb0ddec755dbea41577c7c5155a4fa2852706f2263c0d3015dc67a8181"  # 1,000 lines, 10,443 B


def elevater_sets() -> dict[str, str]:
    """ELEVATER-CN set folder (e.g. ``cifar-10``, ``eurosat_clip``) -> its task name, from the task definitions
    whose dataset is ``elevater-cn`` (the folder is the first part of the task's ``labels`` path)."""
    found = {
        spec.labels.split("/")[0]: name
        for name, spec in all_tasks().items()
        if spec.dataset == "elevater-cn" and spec.labels
    }
    return dict(sorted(found.items()))


def _elevater_entry() -> DatasetEntry:
    sets = elevater_sets()
    return DatasetEntry(
        name="elevater-cn",
        kind="task",
        title="ELEVATER-CN: the 20 ELEVATER image-classification sets with Chinese class names (Chinese-CLIP)",
        source=f"Chinese-CLIP's packaging on the Hugging Face Hub: {ELEVATER_HUB}, file {ELEVATER_ARCHIVE} (37 GB; "
        "one <set>.zip per set inside)",
        license="Terms of each original dataset (see each task's licence; research use)",
        folder="elevater-cn",
        homepage="https://github.com/OFA-Sys/Chinese-CLIP/blob/master/zeroshot_dataset_en.md",
        citation='Li et al., "ELEVATER: A Benchmark and Toolkit for Evaluating Language-Augmented Visual Models", '
        'NeurIPS 2022 Datasets and Benchmarks; Chinese class names: Yang et al., "Chinese CLIP", arXiv:2211.01335',
        tasks=tuple(sets.values()),
        size="20 sets, 37 GB archive",
        scripted=True,
        files=tuple(
            FileSpec(folder, "label_cn.txt, label.txt, optional index.json, test/ and train/", folder=True)
            for folder in sets
        ),
        manual_steps=(
            f"Run: zero-bench download elevater-cn  (fetches {ELEVATER_ARCHIVE} from {ELEVATER_HUB} with "
            "huggingface_hub, checks it against the sha256 the Hub publishes, unpacks every set; needs about twice "
            "37 GB free while it runs).",
            "Some sets only: zero-bench download elevater-cn --only cifar-10,dtd  (their zips are read out of the "
            "remote archive with HTTP range requests; the 37 GB archive is not downloaded).",
            f"Offline: get {ELEVATER_ARCHIVE} (or single <set>.zip files) from the Hub page or Chinese-CLIP's "
            "zeroshot_dataset.md, then: zero-bench download elevater-cn --from <zip, folder of zips or unpacked "
            "folder> [--only ...].",
        ),
        notes="every set is installed on its own, with its own lock file <set>/zero-bench.lock.json",
    )


def _imagenet_entry() -> DatasetEntry:
    return _task_entry(
        "imagenet-cn",
        title="ImageNet-1k validation (50,000 images) with Chinese-CLIP's Chinese class names",
        source="ILSVRC-2012 validation images from image-net.org (after registration; not redistributable) and "
        "Chinese-CLIP's label_cn.txt (fetched and pinned)",
        size="50,000 images, 6.4 GB",
        files=(
            FileSpec(
                "label_cn.txt",
                "Chinese-CLIP's datasets/ImageNet-1K/label_cn.txt (fetched by zero-bench download imagenet-cn)",
                sha256=IMAGENET_LABELS_SHA256,
            ),
            FileSpec("val", "<wnid>/ILSVRC2012_val_NNNNNNNN.JPEG: 1,000 class folders, 50 images each", folder=True),
        ),
        extra={"urls": {"label_cn.txt": IMAGENET_LABELS_URL}},
        manual_steps=(
            "Create an account at https://image-net.org (Login / Sign up) and accept the ImageNet terms of access "
            "(non-commercial research and education).",
            "From the ILSVRC 2012 download page (https://image-net.org/challenges/LSVRC/2012/2012-downloads.php) "
            "download 'Validation images (all tasks)', ILSVRC2012_img_val.tar (6.3 GB), and 'Development kit (Task "
            "1 & 2)', ILSVRC2012_devkit_t12.tar.gz (2.5 MB), into one folder.",
            "Run: zero-bench download imagenet-cn --from <that folder>  (both files are checked against the MD5s "
            "image-net.org publishes, then the images are sorted into val/<wnid>/ by the devkit's ground truth; "
            "reading its meta.mat needs scipy).  A folder already in the val/<wnid>/ "
            "layout (1,000 folders, 50,000 images) works too: --from <folder holding val/ or the wnid folders>.",
            "label_cn.txt is fetched from Chinese-CLIP's repository and must match the pinned sha256; "
            "zero-bench download imagenet-cn alone fetches just that file.",
        ),
    )


# The Hub copies MTEB's own tasks read, at the revisions they pin (mteb 2.x: XM3600*Retrieval, XFlickr30kCo*Retrieval).
XM3600_HUB = "hf://datasets/mteb/xm3600@536cd45bbfe53de9b08c0483bb4a76a4bd3673fa"
XFLICKRCO_HUB = "hf://datasets/mteb/xflickrco@4da629e05455d757306174cdc72f2edfe00b9027"


def _hub_parquet(name: str, title: str, hub: str, size: str) -> DatasetEntry:
    """A Hub parquet split with the images inside (zero_bench.data.hub_parquet): the split zh of ``hub``."""
    return _task_entry(
        name,
        title=title,
        source=f"the Hub dataset {hub.split('@')[0]}, split zh (parquet, images inside), at the revision MTEB pins",
        size=size,
        scripted=True,
        extra={"hub": hub, "hub_split": "zh"},
        files=(FileSpec("zh", "the Hub split zh: its parquet shard(s), as published", folder=True),),
        manual_steps=(
            f"Run: zero-bench download {name}  (lists {hub} with huggingface_hub, fetches the parquet shards of the "
            "split zh, checks each against the sha256 the Hub publishes and pins it with the commit in the lock file; "
            "an interrupted run continues where it stopped).",
            f"Offline: download the zh shard(s) from the Hub page, then: zero-bench download {name} --from <.parquet "
            "file or folder>.",
        ),
    )


REGISTRY: dict[str, DatasetEntry] = {
    e.name: e
    for e in (
        _corpus(
            "zero-23m",
            "Zero-Corpus, 23M image-text pairs",
            "23M pairs",
            tuple(s.format(name="zero-23m") for s in _ZERO_STEPS),
        ),
        _corpus(
            "zero-2.3m",
            "Zero-Corpus-Sub, 2.3M pairs (10% subset of the 23M)",
            "2.3M pairs",
            tuple(s.format(name="zero-2.3m") for s in _ZERO_STEPS),
        ),
        _corpus(
            "zero-250m",
            "Zero-250M, 250M images / 750M texts",
            "250M images",
            (
                "The 250M release is shared through a cloud drive (see http://zero.so.com and github.com/yuxie11/R2D2); "
                "download every record file of the share by hand (a browser or the drive's client).",
                "Run: zero-bench download zero-250m --from <folder> --distributor pyspark (or ray) on a cluster: "
                "several texts per image; fetching 250M images needs a cluster.",
            ),
            notes="several texts per image",
        ),
        _ccmb("icm", "ICM image-caption matching", "400k pairs"),
        _ccmb("iqm", "IQM image-query matching", "400k pairs"),
        _ccmb("icr", "ICR image-caption retrieval", "200k pairs"),
        _ccmb("iqr", "IQR image-query retrieval", "200k pairs"),
        _task_entry(
            "flickr30k-cna",
            title="Flickr30k-CNA: Flickr30k with 5 professional Chinese captions",
            source="CCMB downstream release (captions); images from Flickr30k (entry flickr30k-images)",
            manual_steps=(
                "Download the Flickr30k-CNA captions from http://zero.so.com (CCMB downstream release).",
                "Run: zero-bench download flickr30k-cna --from <archive or folder> (a test file named "
                "flickr30k_cn_test.txt is renamed to flickr30k_cna_test.txt).",
                "Then install the images: zero-bench download flickr30k-images --from <flickr30k-images archive>.",
            ),
        ),
        DatasetEntry(
            name="flickr30k-images",
            kind="images",
            title="Flickr30k images (31,783 JPEGs)",
            folder="ccmb",
            license="Flickr30k terms: non-commercial research use",
            homepage="https://shannon.cs.illinois.edu/DenotationGraph/",
            source="the Flickr30k images, distributed after an access request (form / e-mail) to the dataset authors",
            files=(FileSpec("Flickr30k-images", "<image id>.jpg", folder=True),),
            manual_steps=(
                "Request access to Flickr30k at https://shannon.cs.illinois.edu/DenotationGraph/ (a form; the link "
                "arrives by e-mail) and download flickr30k-images.tar.gz.",
                "Run: zero-bench download flickr30k-images --from flickr30k-images.tar.gz  (installed as "
                "<data root>/ccmb/Flickr30k-images).",
            ),
        ),
        _hub_cnclip(
            "flickr30k-cn",
            "Flickr30k-CN (Chinese-CLIP layout)",
            "Flickr30k-CN captions (Lan et al. 2017) with Flickr30k images, pre-processed by Chinese-CLIP",
            "Flickr30k-CN",
        ),
        _task_entry(
            "coco-cn",
            title="COCO-CN (Chinese-CLIP layout, built from the COCO-CN release and MS-COCO 2014 images)",
            source=f"COCO-CN annotations (Li et al. 2019; {COCO_CN_ARCHIVE} in {COCO_CN_HUB}) and the MS-COCO 2014 "
            f"images ({COCO_IMAGES}), converted by zero-bench into the Chinese-CLIP layout",
            size="test 1,000 images / valid 1,000 / train 18,341; about 160 KB per image",
            scripted=True,
            extra={"hub": COCO_CN_HUB, "archive": COCO_CN_ARCHIVE, "images": COCO_IMAGES},
            manual_steps=(
                f"Run: zero-bench download coco-cn [--only test,valid,train|all]  (default: test and valid; fetches "
                f"{COCO_CN_ARCHIVE} from {COCO_CN_HUB}, checked against the sha256 the Hub publishes, and each MS-COCO "
                f"image of the chosen splits from {COCO_IMAGES} with retries; an interrupted run keeps what it fetched; "
                "each split becomes {split}_texts.jsonl (the human-written sentences) + {split}_imgs.tsv (the original "
                "JPEG bytes, base64) in <data root>/COCO-CN, pinned in its lock file).",
                f"Offline: zero-bench download coco-cn --from <folder> with {COCO_CN_ARCHIVE} (or its unpacked folder) "
                "and the images: COCO_*.jpg files (train2014/, val2014/) or train2014.zip / val2014.zip.",
                "A copy already in the Chinese-CLIP layout (such as Chinese-CLIP's COCO-CN.zip): zero-bench download "
                "coco-cn --from <archive or folder>.",
            ),
        ),
        _hub_cnclip(
            "muge",
            "MUGE retrieval (Chinese-CLIP layout)",
            "MUGE multimodal retrieval (tianchi.aliyun.com), pre-processed by Chinese-CLIP; test labels are not public",
            "MUGE",
        ),
        _cnclip(
            "aic-icc",
            "AI Challenger image captioning (Chinese-CLIP layout)",
            "AI Challenger 2017 image Chinese captioning; distribution is by registration; the retrieval protocol is unknown",
            (
                "Obtain AI Challenger ICC (registration required) and convert it to the Chinese-CLIP layout "
                "(valid_texts.jsonl + valid_imgs.tsv).",
                "Run: zero-bench download aic-icc --from <archive or folder> (installed as <data root>/AIC-ICC).",
            ),
        ),
        _elevater_entry(),
        _imagenet_entry(),
        _hub_parquet("xm3600-zh", "Crossmodal-3600, Chinese captions (MTEB's Hub copy)", XM3600_HUB, "3,600 images"),
        _hub_parquet(
            "xflickrco-zh", "xFlickr&CO test, Chinese captions (MTEB's Hub copy)", XFLICKRCO_HUB, "2,000 images"
        ),
        DatasetEntry(
            name="zero-toy",
            kind="toy",
            title="zero-toy: synthetic offline benchmark in miniature",
            folder="zero-toy",
            license="Apache-2.0 (generated by zero-bench)",
            scripted=True,
            tasks=("icr", "iqr", "icm", "iqm", "flickr30k-cna"),
            source="generated locally and deterministically by `zero-bench download zero-toy` (no network)",
            files=(
                FileSpec("corpus", "Arrow pre-training corpus with the Zero columns", folder=True),
                FileSpec("ccmb", "the five toy tasks in the official ccmb layout", folder=True),
            ),
        ),
    )
}


class MissingDataError(ZeroBenchError):
    """The dataset's files are not there; ``manual`` holds the steps to get them (the CLI prints them)."""

    def __init__(self, message: str, manual: str) -> None:
        super().__init__(message)
        self.manual = manual


def image_source(name: str) -> str:
    """The dataset that installs ``name``'s image folder: an ``images`` entry holding that folder, else ``name``."""
    entry = get_entry(name)
    wanted = {(entry.folder, f.path) for f in entry.files if f.folder}
    for other in REGISTRY.values():
        if other.kind == "images" and {(other.folder, f.path) for f in other.files} & wanted:
            return other.name
    return name


def get_entry(name: str) -> DatasetEntry:
    if name not in REGISTRY:
        spec = all_tasks().get(name)
        if spec is not None and spec.dataset in REGISTRY:  # a task name: say which dataset holds it
            only = f" --only {name}" if spec.dataset == "elevater-cn" else ""
            raise ZeroBenchError(
                f"{name!r} is a task; its data is the dataset {spec.dataset}: zero-bench download {spec.dataset}{only}"
            )
        raise ZeroBenchError(f"unknown dataset {name!r}; known datasets: {', '.join(REGISTRY)}")
    return REGISTRY[name]
