"""The two protocols give exactly the class names and templates their packages publish; --templates files."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.formats import ClassificationData, load_split
from zero_bench.prompts import class_prompts
from zero_bench.taskspec import get_task
from zero_bench.testing import colour_image, make_elevater_folder, write_jpeg


def _clip_benchmark(name: str) -> dict:
    return json.loads(resources.files("clip_benchmark.datasets").joinpath(name).read_text(encoding="utf-8"))


@pytest.fixture
def food(tmp_path: Path) -> ClassificationData:
    make_elevater_folder(tmp_path, name="food-101", n_classes=3, per_class=1)
    data = load_split(get_task("food-101-cn"), tmp_path)
    assert isinstance(data, ClassificationData)
    return data


def test_cn_clip_protocol_is_its_scripts_choice(food: ClassificationData) -> None:
    from cn_clip.eval import cvinw_zeroshot_templates as published
    from cn_clip.eval.data import _preprocess_text

    prompts = class_prompts(get_task("food-101-cn"), food, "cn_clip")
    assert food.class_names is not None
    want = [[_preprocess_text(t(name)) for t in published.food_templates] for name in food.class_names]
    assert prompts.prompts == want
    assert prompts.record.templates_source.endswith("food_templates")
    assert prompts.record.text_preprocessing is not None


def test_cn_clip_default_is_openai_templates(tmp_path: Path) -> None:
    from cn_clip.eval import cvinw_zeroshot_templates as published

    make_elevater_folder(tmp_path, n_classes=2, per_class=1)
    data = load_split(get_task("cifar-10-cn"), tmp_path)
    assert isinstance(data, ClassificationData)
    prompts = class_prompts(get_task("cifar-10-cn"), data, "cn_clip")
    assert len(published.openai_templates) == 183 and prompts.record.prompts_per_class == 183
    assert prompts.prompts[0][0] == published.openai_templates[0]("红色").lower()


def test_clip_benchmark_protocol(food: ClassificationData) -> None:
    templates = _clip_benchmark("cn_zeroshot_classification_templates.json")["imagenet1k"]
    prompts = class_prompts(get_task("food-101-cn"), food, "clip_benchmark")
    assert food.class_names is not None and len(templates) == 80
    assert prompts.prompts == [[t.format(c=name) for t in templates] for name in food.class_names]
    assert "label_cn.txt" in prompts.record.class_names_source  # it publishes no Chinese names for Food-101


def _tiny_imagenet(root: Path) -> ClassificationData:
    for c in range(1000):
        write_jpeg(root / "val" / f"n{c:08d}" / "a.JPEG", colour_image(c, size=4))
    data = load_split(get_task("imagenet-cn"), root)
    assert isinstance(data, ClassificationData)
    return data


@pytest.mark.slow
def test_imagenet_names_by_protocol(tmp_path: Path) -> None:
    data = _tiny_imagenet(tmp_path)
    spec = get_task("imagenet-cn")
    names = _clip_benchmark("cn_classnames.json")["imagenet1k"]
    prompts = class_prompts(spec, data, "clip_benchmark")
    assert [group[0] for group in prompts.prompts] == [f"{n}的照片。" for n in names]
    with pytest.raises(ZeroBenchError, match="zero-bench download imagenet-cn"):
        class_prompts(spec, data, "cn_clip")  # Chinese-CLIP's label_cn.txt has not been fetched


def test_templates_file(food: ClassificationData, tmp_path: Path) -> None:
    spec = get_task("food-101-cn")
    listing = tmp_path / "t.json"
    listing.write_text(json.dumps(["一张{}的照片", "{c}"]), encoding="utf-8")
    prompts = class_prompts(spec, food, "clip_benchmark", listing)
    assert prompts.prompts[0] == ["一张红色的照片", "红色"] and prompts.record.templates_source == "file t.json"
    cupl = tmp_path / "cupl.json"
    cupl.write_text(json.dumps({"红色": ["a", "b"], "绿色": ["c"], "蓝色": ["d"]}), encoding="utf-8")
    prompts = class_prompts(spec, food, "clip_benchmark", cupl)
    assert prompts.prompts == [["a", "b"], ["c"], ["d"]] and prompts.record.prompts_per_class is None
    cupl.write_text(json.dumps({"红色": ["a"]}), encoding="utf-8")
    with pytest.raises(ZeroBenchError, match="no prompts for class '绿色'"):
        class_prompts(spec, food, "clip_benchmark", cupl)
    for bad, message in (('["no placeholder"]', "no placeholder"), ("[]", "at least one"), ("{", "not a JSON")):
        listing.write_text(bad, encoding="utf-8")
        with pytest.raises(DataFormatError, match=message):
            class_prompts(spec, food, "clip_benchmark", listing)


def test_class_prompt_embeddings_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.testing import ColourModel

    monkeypatch.setenv("ZERO_BENCH_HOME", str(tmp_path / "home"))
    make_elevater_folder(tmp_path, n_classes=4, per_class=2)
    model = ColourModel()  # has a checkpoint hash: its encodings are cached
    first = evaluate(model, "cifar-10-cn", data_dir=tmp_path, protocol="clip_benchmark", device="cpu")
    assert model.calls["texts"] == 4 * 80 and model.calls["images"] == 8
    again = evaluate(model, "cifar-10-cn", data_dir=tmp_path, protocol="clip_benchmark", device="cpu")
    assert model.calls["texts"] == 4 * 80 and model.calls["images"] == 8 and again.metrics == first.metrics
    evaluate(model, "cifar-10-cn", data_dir=tmp_path, protocol="cn_clip", device="cpu")  # other prompts
    assert model.calls["texts"] == 4 * 80 + 4 * 183 and model.calls["images"] == 8
