"""The model zoo: public models by name, each with where its weights come from and what its authors declare.

Every fact below was looked up in the source named beside it; where a fact could not be verified the entry says
so instead of guessing.  The parameter count each Result records is always counted from the loaded model; the
``parameters`` here is the authors' declared figure, for the listing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from zero_bench.errors import ZeroBenchError
from zero_bench.models.info import TrainingCorpus

NOT_VERIFIED = "not verified"
CN_CLIP_README = "Chinese-CLIP README model card (github.com/OFA-Sys/Chinese-CLIP)"
CN_CLIP_DATA = "about 200M Chinese image-text pairs (declared in the Chinese-CLIP README)"
CN_CLIP_PAPER = "https://arxiv.org/abs/2211.01335"
CN_CLIP_LICENCE = "MIT (code, github.com/OFA-Sys/Chinese-CLIP); licence of the hub weights: not verified"
R2D2_PAPER = "https://arxiv.org/abs/2205.03860"
R2D2_README = "https://github.com/yuxie11/R2D2#pre-trained-checkpoints"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    model: str  # the model plugin or adapter spec handed to the registry, e.g. "hf:OFA-Sys/..."
    source: str  # where the weights are published
    revision: str  # hub revision used; the resolved commit or file hash goes into every Result
    licence: str
    parameters: int | None  # declared by the authors; None: not verified
    parameters_source: str
    training_data: str
    paper: str
    organisation: str
    options: dict[str, str] = field(default_factory=dict)  # extra options for the plugin (checkpoint=...)
    manual_step: str | None = None  # what a user must do before the first run; None: nothing
    download: str = "from the hub on first use"  # how the weights arrive when no manual step is needed
    # The leaderboard file (leaderboard/submissions/<slug>.json) whose reported entries hold this model's published
    # numbers; None: none are recorded.  The numbers themselves live only there.
    published: str | None = None
    # The training corpora the authors name, as (registry name or Hub id, where they name it): only corpora of the
    # dataset registry or Hub datasets the source itself names; empty where none is (e.g. Chinese-CLIP's ~200M pairs:
    # its sources are not in the registry and it names no Hub dataset).
    training_corpora: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def corpora(self) -> list[TrainingCorpus]:
        """What a Result of this model records in ``model.training_corpora``."""
        return [TrainingCorpus(name=name, source=f"zoo ({where})") for name, where in self.training_corpora]


def _cn_clip_hf(name: str, repo: str, params: int, cn_name: str, published: str) -> ZooEntry:
    return ZooEntry(
        name=name,
        model=f"hf:OFA-Sys/{repo}",
        source=f"https://huggingface.co/OFA-Sys/{repo}",
        revision="main",
        licence=CN_CLIP_LICENCE,
        parameters=params,
        parameters_source=CN_CLIP_README,
        training_data=CN_CLIP_DATA,
        paper=CN_CLIP_PAPER,
        organisation="OFA-Sys (Alibaba DAMO Academy)",
        download=(
            f"downloaded from the hub on first use (cn_clip's own format of the same weights: "
            f"https://clip-cn-beijing.oss-cn-beijing.aliyuncs.com/checkpoints/clip_cn_{cn_name}.pt)"
        ),
        published=published,
    )


def _r2d2(
    name: str,
    plugin: str,
    description: str,
    drive_id: str,
    params: int | None,
    data: str,
    corpus: str,
    published: str | None = None,
) -> ZooEntry:
    from_file = "tests/fixtures/reference/r2d2_param_counts.json (counted from the official code)"
    return ZooEntry(
        name=name,
        model=plugin,
        source=f"https://drive.google.com/file/d/{drive_id}/view?usp=sharing",
        revision="as published (no checksum published)",
        licence=f"{NOT_VERIFIED} (the R2D2 repository states none)",
        parameters=params,
        parameters_source=from_file if params is not None else NOT_VERIFIED,
        training_data=data,
        paper=R2D2_PAPER,
        organisation="Qihoo 360 (R2D2 / CCMB authors)",
        training_corpora=((corpus, f"the R2D2 README, {R2D2_README}"),),
        options={"checkpoint": name},
        manual_step=(
            f"download {description} from https://drive.google.com/file/d/{drive_id}/view?usp=sharing "
            f"(linked from {R2D2_README}) and save it as $ZERO_BENCH_HOME/checkpoints/{name}.pth; "
            "needs the zero-bench-r2d2 plugin (pip install -e baselines/zero_bench_r2d2)"
        ),
        published=published,
    )


ENTRIES: tuple[ZooEntry, ...] = (
    _cn_clip_hf(
        "chinese-clip-vit-b-16", "chinese-clip-vit-base-patch16", 188_000_000, "vit-b-16", "chinese-clip-vit-b-16"
    ),
    _cn_clip_hf(
        "chinese-clip-vit-l-14", "chinese-clip-vit-large-patch14", 406_000_000, "vit-l-14", "chinese-clip-vit-l-14"
    ),
    _cn_clip_hf(
        "chinese-clip-vit-l-14-336",
        "chinese-clip-vit-large-patch14-336px",
        407_000_000,
        "vit-l-14-336",
        "chinese-clip-vit-l-14-336px",
    ),
    _cn_clip_hf(
        "chinese-clip-vit-h-14", "chinese-clip-vit-huge-patch14", 958_000_000, "vit-h-14", "chinese-clip-vit-h-14"
    ),
    ZooEntry(
        name="chinese-clip-rn50",
        model="cn_clip:RN50",
        source="https://huggingface.co/OFA-Sys/chinese-clip-rn50 (file clip_cn_rn50.pt)",
        revision="main",
        licence="apache-2.0 (hub model card OFA-Sys/chinese-clip-rn50)",
        parameters=77_000_000,
        parameters_source=CN_CLIP_README,
        training_data=CN_CLIP_DATA,
        paper=CN_CLIP_PAPER,
        organisation="OFA-Sys (Alibaba DAMO Academy)",
        download=(
            "fetched from the hub on first use; or download "
            "https://clip-cn-beijing.oss-cn-beijing.aliyuncs.com/checkpoints/clip_cn_rn50.pt and run "
            "-m cn_clip:<file> --model-config RN50@RBT3-chinese"
        ),
        published="chinese-clip-rn50",
    ),
    ZooEntry(
        name="altclip",
        model="hf:BAAI/AltCLIP",
        source="https://huggingface.co/BAAI/AltCLIP",
        revision="main",
        licence="creativeml-openrail-m (hub model card BAAI/AltCLIP)",
        parameters=None,
        parameters_source=NOT_VERIFIED,
        training_data="WuDao and LAION (declared in the BAAI/AltCLIP model card)",
        paper="https://arxiv.org/abs/2211.06679",
        organisation="BAAI",
        manual_step=(
            "the hub repository is gated: accept its licence at https://huggingface.co/BAAI/AltCLIP while logged "
            "in, then `hf auth login` (or set HF_TOKEN) before the first run"
        ),
        published="altclip",
    ),
    ZooEntry(
        name="taiyi-clip-roberta-102m",
        model="hf:IDEA-CCNL/Taiyi-CLIP-Roberta-102M-Chinese",
        source="https://huggingface.co/IDEA-CCNL/Taiyi-CLIP-Roberta-102M-Chinese",
        revision="main",
        licence="apache-2.0 (hub model card; the image tower openai/clip-vit-base-patch32: not verified)",
        parameters=None,
        parameters_source=f"{NOT_VERIFIED} (102M in the name is the text tower alone)",
        training_data="Noah-Wukong (100M) and Zero (23M) image-text pairs (declared in the hub model card)",
        training_corpora=(
            ("zero-23m", "hub model card https://huggingface.co/IDEA-CCNL/Taiyi-CLIP-Roberta-102M-Chinese"),
        ),
        paper="https://arxiv.org/abs/2209.02970",
        organisation="IDEA-CCNL (Fengshenbang)",
        options={"image_tower": "openai/clip-vit-base-patch32"},
        download=(
            "the text tower (BertForSequenceClassification, logits = text features) and the frozen image "
            "tower https://huggingface.co/openai/clip-vit-base-patch32 are downloaded from the hub on first use"
        ),
        published="taiyi-clip-roberta-102m-chinese",
    ),
    ZooEntry(
        name="xlm-roberta-base-vit-b-32",
        model="open_clip:xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k",
        source="open_clip pretrained tag laion5b_s13b_b90k (hub laion/CLIP-ViT-B-32-xlm-roberta-base-laion5B-s13B-b90k)",
        revision="open_clip's pinned tag",
        licence=f"MIT (open_clip code); weights: {NOT_VERIFIED}",
        parameters=None,
        parameters_source=NOT_VERIFIED,
        training_data="LAION-5B (the open_clip tag name)",
        paper="https://arxiv.org/abs/2210.08402",
        organisation="LAION",
        download="downloaded by open_clip on first use",
    ),
    ZooEntry(
        name="xlm-roberta-large-vit-h-14",
        model="open_clip:xlm-roberta-large-ViT-H-14/frozen_laion5b_s13b_b90k",
        source="open_clip pretrained tag frozen_laion5b_s13b_b90k",
        revision="open_clip's pinned tag",
        licence=f"MIT (open_clip code); weights: {NOT_VERIFIED}",
        parameters=None,
        parameters_source=NOT_VERIFIED,
        training_data="LAION-5B (the open_clip tag name; image tower frozen)",
        paper="https://arxiv.org/abs/2210.08402",
        organisation="LAION",
        download="downloaded by open_clip on first use",
    ),
    _r2d2(
        "r2d2-vit-l-250m",
        "r2d2",
        "the R2D2 ViT-L checkpoint pre-trained on 250M pairs",
        "18Fd3vGvj0Dz8rPlxROxugjZaF8Z4jf7g",
        556_638_213,
        "Zero-250M (declared)",
        "zero-250m",
        published="r2d2-vit-l-14-zero-250m",
    ),
    _r2d2(
        "prd2-vit-l-250m",
        "prd2",
        "the PRD2 ViT-L checkpoint pre-trained on 250M pairs",
        "15zDdam7_-YT0suA3Wc226vvxcyBxWZ_O",
        None,
        "Zero-250M (declared)",
        "zero-250m",
    ),
    _r2d2(
        "r2d2-vit-l-23m",
        "r2d2",
        "the R2D2 ViT-L checkpoint pre-trained on 23M pairs",
        "1vvvMv3mTRFGAUojbSJoZiTuqYPJqIquh",
        556_638_213,
        "Zero-Corpus 23M (declared)",
        "zero-23m",
    ),
)

ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in ENTRIES}


def get_entry(name: str) -> ZooEntry:
    if name not in ZOO:
        raise ZeroBenchError(f"unknown zoo entry {name!r}; zoo: {', '.join(ZOO)}")
    return ZOO[name]
