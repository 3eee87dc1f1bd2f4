from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from zero_bench.data.toy import ToySizes, caption, generate_zero_toy, mutate, query, random_scene, toy_task_dir
from zero_bench.errors import ZeroBenchError
from zero_bench.taskspec import all_tasks

SMALL = ToySizes(
    corpus=60, itr_train=30, itr_val=12, itm_train=30, itm_val=20, flickr_train=6, flickr_val=4, flickr_test=4
)


def _digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    generate_zero_toy(root, seed=3, sizes=SMALL)
    return root


def test_toy_is_deterministic(toy, tmp_path):
    generate_zero_toy(tmp_path / "again", seed=3, sizes=SMALL, corpus=False)
    a, b = _digest_tree(toy_task_dir(toy)), _digest_tree(toy_task_dir(tmp_path / "again"))
    assert a == b and any(k.endswith(".json") for k in a)
    generate_zero_toy(tmp_path / "other", seed=4, sizes=SMALL, corpus=False)
    c = _digest_tree(toy_task_dir(tmp_path / "other"))
    assert c["ICR/val/long_itr_val.json"] != a["ICR/val/long_itr_val.json"]


def test_toy_files_follow_the_official_formats(toy):
    ccmb = toy_task_dir(toy)
    tasks = all_tasks()
    for name in ("icr", "iqr", "icm", "iqm", "flickr30k-cna"):
        spec = tasks[name]
        for _split_name, split in spec.splits.items():
            path = ccmb / split.annotation
            lines = path.read_text(encoding="utf-8").splitlines()
            assert lines, path
            labels = []
            for line in lines:
                if spec.format == "flickr30k-cna-txt":
                    ident, text = line.split("\t")
                    image_id, k = ident.split("#")
                    assert k in "01234" and len(text) > 10
                    image = ccmb / spec.image_dir / f"{image_id}.jpg"
                else:
                    row = json.loads(line)
                    assert isinstance(row["text"], str) and row["text"]
                    image = ccmb / spec.image_dir / Path(row["image_path"]).name
                    if spec.format == "zero-itm-jsonl":
                        assert row["label"] in (0, 1)
                        labels.append(row["label"])
                assert image.is_file(), image
            if labels:
                assert abs(sum(labels) - len(labels) / 2) <= 1  # balanced
    assert len((ccmb / "test/flickr30k_cna_test.txt").read_text().splitlines()) == 5 * SMALL.flickr_test
    assert len((ccmb / "ICM/val/long_itm_val.json").read_text().splitlines()) == SMALL.itm_val


def test_matching_negatives_differ_in_one_attribute():
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(200):
        scene = random_scene(rng)
        neg, attr = mutate(scene, rng)
        assert caption(neg, 0) != caption(scene, 0)
        if attr == "background":
            assert neg.objects == scene.objects
        else:
            # objects are kept sorted by position, so compare them as sets: exactly one object is replaced, by
            # one that differs from it in exactly the named attribute
            (old,) = set(scene.objects) - set(neg.objects)
            (new,) = set(neg.objects) - set(scene.objects)
            changed = {f for f in ("shape", "color", "size", "position") if getattr(old, f) != getattr(new, f)}
            assert changed == {attr}, (attr, old, new)
            assert neg.tone == scene.tone and neg.bg == scene.bg
        qneg, _qattr = mutate(scene, rng, ("color", "shape"))
        assert query(qneg) != query(scene)


def test_toy_corpus_has_the_zero_columns(toy):
    from zero_bench import load_corpus

    ds = load_corpus("zero-toy", root=toy)
    assert len(ds) == SMALL.corpus
    row = ds[0]
    assert set(row) >= {
        "key",
        "image",
        "title",
        "content",
        "query",
        "keywords",
        "url",
        "image_url",
        "width",
        "height",
        "sha256",
    }
    assert 64 <= row["image"].size[0] <= 96 and row["image_url"].startswith("http://zero-toy.invalid/")


def test_install_task_from_archive_and_report_sizes(toy, tmp_path):
    from zero_bench.data.tasks import install_task_dataset, verify_dataset

    src = tmp_path / "src" / "release"
    ccmb = toy_task_dir(toy)
    for rel in ("train/flickr30k_cna_train.txt", "val/flickr30k_cna_val.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ccmb / rel, src / rel)
    (src / "test").mkdir()
    shutil.copyfile(ccmb / "test/flickr30k_cna_test.txt", src / "test/flickr30k_cn_test.txt")  # third-party name
    shutil.copytree(ccmb / "Flickr30k-images", src / "Flickr30k-images")
    archive = tmp_path / "cna.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="release")  # nested top folder
    root = tmp_path / "data"
    report = install_task_dataset("flickr30k-cna", str(archive), root=root, echo=lambda *a: None)
    assert report.split_sizes["test/flickr30k_cna_test.txt"] == 5 * SMALL.flickr_test
    assert report.missing_images == 0 and report.checked_images == 5 * (6 + 4 + 4)
    assert verify_dataset("flickr30k-cna", root).clean
    (root / "ccmb/val/flickr30k_cna_val.txt").write_text("1#0\tchanged\n")
    rep = verify_dataset("flickr30k-cna", root)
    assert rep.changed == ["val/flickr30k_cna_val.txt"]
    bad = tmp_path / "bad"
    shutil.copytree(src, bad)
    (bad / "train/flickr30k_cna_train.txt").write_text("1#0\tother\n")
    with pytest.raises(ZeroBenchError, match=r"flickr30k_cna_train\.txt: checksum .* does not match"):
        install_task_dataset("flickr30k-cna", str(bad), root=root, echo=lambda *a: None)  # refused, nothing written
    assert (root / "ccmb/train/flickr30k_cna_train.txt").read_bytes() == (
        src / "train/flickr30k_cna_train.txt"
    ).read_bytes()
    from zero_bench.data.registry import MissingDataError

    with pytest.raises(MissingDataError):
        install_task_dataset("icr", None, root=tmp_path / "empty", echo=lambda *a: None)


def test_install_from_url_zip_and_lock_check_on_use(toy, tmp_path, image_server):
    import io
    import zipfile

    from zero_bench.data import check_pins, install_task_dataset

    ccmb = toy_task_dir(toy)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(ccmb.rglob("*")):
            rel = p.relative_to(ccmb)
            if p.is_file() and (rel.parts[0] in ("IQR", "IQR_IQM_ICR_ICM_images")):
                zf.write(p, f"ccmb-release/{rel}")
    image_server.files["iqr.zip"] = buf.getvalue()
    root = tmp_path / "data"
    report = install_task_dataset("iqr", f"{image_server.base}/file/iqr.zip", root=root, echo=lambda *a: None)
    assert report.split_sizes == {
        "IQR/train/short_itr_train.json": SMALL.itr_train,
        "IQR/val/short_itr_val.json": SMALL.itr_val,
    }
    assert report.missing_images == 0
    val = root / "ccmb/IQR/val/short_itr_val.json"
    check_pins(val)  # unchanged: fine
    val.write_text(val.read_text(encoding="utf-8").replace("红色", "蓝色"), encoding="utf-8")
    with pytest.raises(ZeroBenchError, match=r"short_itr_val\.json: checksum .* does not match"):
        check_pins(val)
    assert not list(root.glob(".iqr.work*"))  # the download / unpack folder is cleaned up


def test_flickr30k_images_archive_with_original_folder_name(toy, tmp_path):
    from zero_bench.data import install_task_dataset

    archive = tmp_path / "flickr30k-images.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(toy_task_dir(toy) / "Flickr30k-images", arcname="flickr30k-images")  # the original archive's name
    report = install_task_dataset("flickr30k-images", str(archive), root=tmp_path / "data", echo=lambda *a: None)
    assert len(report.installed) == 14 and not report.missing
    assert len(list((tmp_path / "data/ccmb/Flickr30k-images").glob("*.jpg"))) == 14


def test_toy_flickr_speaks_its_own_register(toy):
    """Toy Flickr30k-CNA's captions share colours and tones with the corpus but not its words for shapes, places and
    backgrounds (the domain gap fine-tuning closes); every image has its five captions in that register."""
    from zero_bench.data.toy import COLORS, POSITIONS, SHAPES
    from zero_bench.data.toy_flickr import PLACE_WORDS, SHAPE_WORDS

    corpus_words = [*SHAPES, *POSITIONS, "背景"]
    for split in ("train", "val", "test"):
        lines = (toy_task_dir(toy) / split / f"flickr30k_cna_{split}.txt").read_text(encoding="utf-8").splitlines()
        assert (
            len(lines) == 5 * {"train": SMALL.flickr_train, "val": SMALL.flickr_val, "test": SMALL.flickr_test}[split]
        )
        for line in lines:
            text = line.split("\t", 1)[1]
            assert not any(word in text for word in corpus_words), text
            assert any(c in text for c in COLORS)
            assert any(w in text for w in SHAPE_WORDS.values()) and any(w in text for w in PLACE_WORDS.values())


def test_a_toy_from_another_generator_version_is_made_again(tmp_path):
    """The quickstart keeps a generated toy only when version, seed and sizes all match its marker."""
    from tests.quickstart_sizes import small_quickstart
    from zero_bench.data.toy import TOY_VERSION
    from zero_bench_r2d2.training.quickstart import _make_data

    cfg = small_quickstart(tmp_path, corpus=20, pairs=4, flickr=2)
    task_dir, _ = _make_data(cfg, tmp_path / "data")
    marker = task_dir / "zero-toy.json"
    made = json.loads(marker.read_text())
    assert made["version"] == TOY_VERSION
    first = marker.stat().st_mtime_ns
    _make_data(cfg, tmp_path / "data")
    assert marker.stat().st_mtime_ns == first  # kept
    marker.write_text(json.dumps({k: v for k, v in made.items() if k != "version"}))  # as an older version wrote it
    _make_data(cfg, tmp_path / "data")
    assert json.loads(marker.read_text()) == made
