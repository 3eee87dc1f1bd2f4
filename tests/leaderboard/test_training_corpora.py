"""``training_corpora``: declared on every Result, validated, kept by submit, filled by the zoo and the quickstart."""

from __future__ import annotations

import json

import pytest

from tests.leaderboard.lb_helpers import CARD, result_dict, write_json
from zero_bench.errors import DataFormatError
from zero_bench.leaderboard.schema import Rejected
from zero_bench.leaderboard.submit import read_model_file, submit
from zero_bench.models.info import TrainingCorpus, corpus_names
from zero_bench.models.zoo import ENTRIES, ZOO
from zero_bench.results import Result

DECLARED = [
    {"name": "zero-250m", "source": "submitter"},
    {"name": "hf://datasets/example-org/some_corpus.v2", "source": "model card https://example.org/card"},
]


def _card(corpora: list[dict] | None) -> dict:
    card = dict(CARD)
    if corpora is not None:
        card["training_corpora"] = corpora
    return card


def test_result_round_trip_and_old_files(tmp_path, ccmb, icr_preds) -> None:
    raw = result_dict("icr", ccmb, icr_preds, _card(DECLARED))
    path = write_json(tmp_path / "new.json", raw)
    result = Result.read(path)
    assert [c.model_dump() for c in result.model.training_corpora] == DECLARED
    result.write(tmp_path / "again.json")
    assert Result.read(tmp_path / "again.json") == result
    old = write_json(tmp_path / "old.json", result_dict("icr", ccmb, icr_preds, _card(None)))
    assert "training_corpora" not in json.loads(old.read_text())["model"]
    assert Result.read(old).model.training_corpora == []


@pytest.mark.parametrize(
    ("corpora", "message"),
    [
        (
            [{"name": "Zero-250M", "source": "x"}],
            "training corpus 'Zero-250M' is neither a corpus of the dataset registry",
        ),
        ([{"name": "wukong", "source": "x"}], "nor a Hub dataset id hf://datasets/ORG/NAME"),
        ([{"name": "hf://models/org/name", "source": "x"}], "training corpus 'hf://models/org/name' is neither"),
        ([{"name": "zero-toy", "source": ""}], "training_corpora.0.source"),
        ([{"name": "zero-toy", "source": "a"}, {"name": "zero-toy", "source": "b"}], "'zero-toy' is listed twice"),
    ],
)
def test_bad_declarations_are_one_line(tmp_path, ccmb, icr_preds, corpora, message) -> None:
    path = write_json(tmp_path / "bad.json", result_dict("icr", ccmb, icr_preds, _card(corpora)))
    with pytest.raises(DataFormatError, match=r"bad\.json: model\.training_corpora") as err:
        Result.read(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_registry_names_are_the_corpora() -> None:
    assert {"zero-250m", "zero-23m", "zero-2.3m", "zero-toy"} <= set(corpus_names())
    assert "muge" not in corpus_names()  # a task's dataset is not a training corpus


def test_submit_keeps_the_declared_corpora(tmp_path, lb, ccmb, icr_preds) -> None:
    raw = result_dict("icr", ccmb, icr_preds, _card(DECLARED))
    outcome = submit(write_json(tmp_path / "r.json", raw), icr_preds, root=lb, data_dir=ccmb)
    stored = read_model_file(outcome.path)
    assert [c.model_dump() for c in stored.model.training_corpora] == DECLARED
    # the same model without the declaration differs from the stored card: --replace to change it
    plain = result_dict("icr", ccmb, icr_preds, _card(None))
    with pytest.raises(Rejected, match=r"model\.training_corpora: differs from the stored card"):
        submit(write_json(tmp_path / "p.json", plain), icr_preds, root=lb, data_dir=ccmb, replace=False)
    outcome = submit(write_json(tmp_path / "p.json", plain), icr_preds, root=lb, data_dir=ccmb, replace=True)
    assert "training_corpora" not in json.loads(outcome.path.read_text())["model"]  # earlier format kept


def test_zoo_declares_only_registry_or_hub_corpora_it_can_name() -> None:
    for entry in ENTRIES:
        corpora = entry.corpora()
        assert all(isinstance(c, TrainingCorpus) and c.source.startswith("zoo (") for c in corpora)
    assert [c.name for c in ZOO["r2d2-vit-l-250m"].corpora()] == ["zero-250m"]
    assert [c.name for c in ZOO["r2d2-vit-l-23m"].corpora()] == ["zero-23m"]
    assert [c.name for c in ZOO["taiyi-clip-roberta-102m"].corpora()] == ["zero-23m"]
    # Chinese-CLIP's ~200M pairs: none of its sources is a registry corpus or a Hub dataset it names
    assert ZOO["chinese-clip-vit-b-16"].corpora() == []
    json.dumps([e.as_dict() for e in ENTRIES])  # `zero-bench models --json` still serialises


def test_quickstart_models_declare_zero_toy() -> None:
    from zero_bench.testing import ColourModel
    from zero_bench_r2d2.training.quickstart import _toy_trained

    model = _toy_trained(ColourModel())
    assert [c.name for c in model.info.training_corpora] == ["zero-toy"]
    assert "zero-bench train" in model.info.training_corpora[0].source


def test_a_zoo_model_records_its_corpora_in_every_result(tmp_path) -> None:
    """``-m r2d2-vit-l-23m`` (here with tiny weights saved by the plugin itself) declares zero-23m; random weights
    declare nothing."""
    from zero_bench.models.registry import create_model
    from zero_bench_r2d2.checkpoints import save_safetensors

    tiny = create_model("r2d2", config="r2d2-tiny", random_init=True)
    weights = save_safetensors(tiny.model, tmp_path / "tiny.safetensors")
    model = create_model("r2d2-vit-l-23m", checkpoint=str(weights), config="r2d2-tiny")
    assert model.info.training_corpora == ZOO["r2d2-vit-l-23m"].corpora()
    assert [c.name for c in model.info.training_corpora] == ["zero-23m"]
    unloaded = create_model("r2d2-vit-l-23m", checkpoint=None, config="r2d2-tiny", random_init=True)
    assert unloaded.info.random_init and unloaded.info.training_corpora == []
