"""zero-bench's zero-shot classification equals the anchors' own evaluation code on the same tiny models and data:
CLIP_benchmark's ``zeroshot_classification.evaluate`` (open_clip model, its cn templates) and Chinese-CLIP's
``zeroshot_evaluation`` (``zero_shot_classifier`` + ``run``, a cn_clip model, its templates and preprocessing).

Both anchors' ``accuracy`` helpers call ``float()`` on a one-element array, which numpy 2 refuses; the tests swap
in the same formula with ``.item()`` and run the rest of the anchors' code as published."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torchvision.datasets import ImageFolder

from tests.adapters import tiny_models as tm
from zero_bench.evaluation.evaluator import evaluate
from zero_bench.models.registry import create_model
from zero_bench.testing import make_elevater_folder

TOLERANCE = 0.01  # percentage points


def _topk_counts(output: torch.Tensor, target: torch.Tensor, topk=(1,)) -> list[float]:
    pred = output.topk(max(topk), 1, True, True)[1].t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    return [correct[:k].reshape(-1).float().sum().item() for k in topk]


@pytest.fixture(scope="module")
def elevater(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("elevater")
    make_elevater_folder(root, n_classes=12, per_class=4)
    return root


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_equal_to_clip_benchmark(elevater: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import open_clip
    from clip_benchmark.metrics import zeroshot_classification as cb

    config, weights = tm.save_open_clip(tmp_path)
    ours = evaluate(
        create_model(f"open_clip:{config.stem}/{weights}", config=str(config)),
        "cifar-10-cn",
        data_dir=elevater,
        protocol="clip_benchmark",
        use_cache=False,
        device="cpu",
    )
    model, _, preprocess = open_clip.create_model_and_transforms(config.stem, pretrained=str(weights))
    model.eval()
    names = (elevater / "cifar-10" / "label_cn.txt").read_text(encoding="utf-8").split()
    templates = json.loads(
        resources.files("clip_benchmark.datasets").joinpath("cn_zeroshot_classification_templates.json").read_text()
    )["imagenet1k"]
    monkeypatch.setattr(
        cb, "accuracy", lambda output, target, topk=(1,): [c / len(target) for c in _topk_counts(output, target, topk)]
    )
    loader = torch.utils.data.DataLoader(ImageFolder(str(elevater / "cifar-10" / "test"), preprocess), batch_size=7)
    theirs = cb.evaluate(model, loader, open_clip.get_tokenizer(config.stem), names, templates, "cpu", amp=False)
    assert ours.classification is not None and ours.classification.prompts_per_class == len(templates) == 80
    for key in ("acc1", "acc5", "mean_per_class_recall"):
        assert abs(ours.metrics[key] - 100 * theirs[key]) <= TOLERANCE, key


def test_equal_to_chinese_clip(elevater: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cn_clip.clip.model import CLIP
    from cn_clip.clip.utils import image_transform
    from cn_clip.eval import cvinw_zeroshot_templates as published
    from cn_clip.eval import zeroshot_evaluation as cc

    config, weights = tm.save_cn_clip(tmp_path)
    ours = evaluate(
        create_model(f"cn_clip:{weights}", config=str(config)),
        "cifar-10-cn",
        data_dir=elevater,
        protocol="cn_clip",
        use_cache=False,
        device="cpu",
    )
    model = CLIP(**tm.CN_CLIP_TINY)
    state = torch.load(weights, map_location="cpu")["state_dict"]
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    model.eval()
    names = [line.strip() for line in (elevater / "cifar-10" / "label_cn.txt").read_text(encoding="utf-8").splitlines()]
    args = SimpleNamespace(context_length=52, gpu="cpu", index="")
    classifier = cc.zero_shot_classifier(model, names, published.openai_templates, args)
    monkeypatch.setattr(cc, "accuracy", _topk_counts)
    dataset = ImageFolder(str(elevater / "cifar-10" / "test"), image_transform(tm.IMAGE_SIZE))
    top1, logits = cc.run(model, classifier, torch.utils.data.DataLoader(dataset, batch_size=7), args)
    target = torch.tensor(dataset.targets)
    assert abs(ours.metrics["acc1"] - 100 * top1) <= TOLERANCE
    acc5 = _topk_counts(logits, target, (5,))[0] / len(target)
    assert abs(ours.metrics["acc5"] - 100 * acc5) <= TOLERANCE
    assert ours.classification is not None and ours.classification.prompts_per_class == 183
