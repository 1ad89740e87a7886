"""The sentence-embedding signal: the real model, its on-disk cache, and the bot without it."""

from __future__ import annotations

import json
import logging
import os
import platform
import shlex
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import ConfigError, load_settings
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher, semantic
from bot.matching.cache import IndexCache
from bot.matching.explain import explain, explain_text
from bot.matching.semantic import MODEL, TOKENIZER, Embedder, load_embedder
from tests.conftest import CACHE_DIR, unavailable


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = load_embedder(None, IndexCache(CACHE_DIR))
    assert loaded is not None, "the bundled model must load after `make install`"
    return loaded


class Counting(Embedder):
    """The real embedder, counting the texts it embeds: what the cache saves shows as texts not embedded.

    Its model comes prepared from the run's warm cache; the vectors go to whichever cache a test passes.
    """

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(folder, IndexCache(CACHE_DIR))
        self.embedded = 0

    def embed(self, text: str) -> np.ndarray:
        self.embedded += 1
        return super().embed(text)


def test_questions_meaning_the_same_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    a, b, c = (embedder.embed(text) for text in (
        "what does a product person spend the day on",
        "what does a product manager do all day",
        "book me a flight to Lisbon on friday",
    ))
    assert np.isclose(np.linalg.norm(a), 1.0, atol=1e-4)
    assert a @ b > 0.5 > a @ c


def test_phrasing_embeddings_come_from_the_cache_and_only_changed_texts_are_embedded(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path / "cache")
    texts = ["what is a product manager", "who owns the roadmap", "how do I become a project manager"]
    first = Counting()
    vectors = first.embed_many(texts, cache)
    assert first.embedded == 3
    again = Counting()
    assert np.allclose(again.embed_many(texts, cache), vectors)
    assert again.embedded == 0, "an unchanged knowledge is read from the cache, not embedded again"
    edited = Counting()
    changed = edited.embed_many([*texts[:2], "how do I become a program manager"], cache)
    assert edited.embedded == 1, "only the edited phrasing is embedded"
    assert np.allclose(changed[:2], vectors[:2]) and not np.allclose(changed[2], vectors[2])


def test_a_knowledge_embedded_edit_by_edit_gets_the_vectors_of_one_embedded_at_once(tmp_path: Path) -> None:
    """Otherwise the same knowledge answers differently on a machine whose cache grew with its edits."""
    texts = [
        "what is a product manager",
        "who owns the roadmap and decides what ships next quarter",
        "how do I become a project manager",
        "pmp or prince2",
        "what does a scrum master do all day when the team is not in a meeting",
    ]
    grown = IndexCache(tmp_path / "grown")
    Counting().embed_many(texts[:1], grown)
    Counting().embed_many(texts[:3], grown)
    edited = Counting().embed_many(texts, grown)
    at_once = Counting().embed_many(texts, IndexCache(tmp_path / "fresh"))
    assert np.array_equal(edited, at_once)
    assert np.array_equal(at_once[0], Counting().embed(texts[0])), "a phrasing is embedded as a question is"


def test_another_model_never_reads_the_first_models_vectors(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path / "cache")
    texts = ["what is a product manager", "who owns the roadmap"]
    Counting().embed_many(texts, cache)
    other = tmp_path / "other-model"
    other.mkdir()
    shutil.copy(MODEL, other / "model.onnx")
    (other / "tokenizer.json").write_text(TOKENIZER.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # another file
    second = Counting(other)
    second.embed_many(texts, cache)
    assert second.embedded == 2


def test_without_the_model_the_bot_warns_once_and_answers_by_words(
    kb: KnowledgeBase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    shutil.copy(TOKENIZER, broken / "tokenizer.json")
    with caplog.at_level(logging.WARNING, logger="pmbot.semantic"):
        assert load_embedder(broken) is None
        assert load_embedder(broken) is None
    warnings = [r for r in caplog.records if r.name == "pmbot.semantic"]
    assert len(warnings) == 1 and "answering from the words alone" in warnings[0].getMessage()

    matcher = Matcher(kb, embedder=None)
    result = matcher.match("what does a product manager do all day?")
    assert (result.kind, result.intent_id) == ("answer", "product-manager-responsibilities")
    assert matcher.match("can you book me a table for two tonight").kind != "answer"
    assert "decided by words alone" in explain_text(explain(kb, result))


def test_without_the_onnx_package_a_cold_start_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Preparing the model needs onnx: an install that lacks it answers by words and says how to fix it."""
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(MODEL, model / "model.onnx")
    shutil.copy(TOKENIZER, model / "tokenizer.json")
    find_spec = semantic.importlib.util.find_spec
    monkeypatch.setattr(semantic.importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else find_spec(name, *a))
    with caplog.at_level(logging.WARNING, logger="pmbot.semantic"):
        assert load_embedder(model, IndexCache(tmp_path / "cache")) is None
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "pmbot.semantic"]
    assert "answering from the words alone" in warning and "onnx is not installed (run `make install`)" in warning


def test_a_bundled_model_that_is_not_the_pinned_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The bundled file is checked by sha256: an altered or half-written copy never embeds a question."""
    altered = tmp_path / "model.onnx"
    altered.write_bytes(MODEL.read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(semantic, "MODEL", altered)
    monkeypatch.setattr(semantic, "_loaded", {})
    with caplog.at_level(logging.WARNING, logger="pmbot.semantic"):
        assert load_embedder(None, IndexCache(tmp_path / "cache")) is None
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "pmbot.semantic"]
    assert f"{altered} is not the pinned file" in warning and "answering from the words alone" in warning


def test_a_missing_model_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PMBOT_EMBEDDING_MODEL"):
        load_settings({"PMBOT_EMBEDDING_MODEL": str(tmp_path)}, dotenv=None)


def test_why_shows_how_close_the_meaning_is(kb: KnowledgeBase, matcher: Matcher) -> None:
    report = explain(kb, matcher.match("what does a product manager do all day?"))
    best = report["candidates"][0]
    assert best["intent"] == "product-manager-responsibilities"
    assert 0.5 < best["similarity"] <= 1.0
    assert "meaning 0." in explain_text(report)


def _prepared_model(cache: Path) -> Path:
    """The one prepared model's folder in the cache folder `cache` (beside it in the same folder, its lock file)."""
    (folder,) = [p for p in (cache / semantic.OPTIMISED_KIND).iterdir() if p.is_dir()]
    return folder


def test_the_model_prepared_into_the_cache_embeds_exactly_like_a_start_without_one(tmp_path: Path) -> None:
    """A warm start maps the prepared copy instead of preparing it (issue 12): answers must not move."""
    texts = ["what does a product person spend the day on", "scope creep", "book me a flight to Lisbon on friday"]
    cache = IndexCache(tmp_path / "cache")
    expected = [Embedder().embed(text) for text in texts]
    writing = Embedder(cache=cache)
    folder = _prepared_model(tmp_path / "cache")
    assert {p.name for p in folder.iterdir()} == {"model.onnx", "model.onnx.data"}
    written = folder.stat().st_mtime_ns
    reading = Embedder(cache=cache)
    assert folder.stat().st_mtime_ns == written, "a warm start reads the prepared model, it does not write it again"
    for embedder in (writing, reading):
        assert np.array_equal([embedder.embed(text) for text in texts], expected)


def test_the_prepared_models_integer_weights_cannot_saturate_a_cpu_without_vnni(embedder: Embedder, tmp_path: Path) -> None:
    """Such a CPU adds pairs of u8 x s8 products in 16 bits: with weights in [-64, 64] no sum passes 2^15 - 1,
    so it computes the same integer products as a CPU with VNNI, and a question's answer does not hang on
    which machine runs the bot (see semantic._prepare)."""
    import onnx
    from onnx import numpy_helper

    prepared = sorted((CACHE_DIR / semantic.OPTIMISED_KIND).glob("*/model.onnx"))  # the embedder's, and any other test's
    assert prepared
    for n, model_file in enumerate(prepared):
        copy = shutil.copytree(model_file.parent, tmp_path / str(n))  # onnx refuses weights in a hard-linked file
        model = onnx.load(str(copy / "model.onnx"))
        weights = [numpy_helper.to_array(w) for w in model.graph.initializer if w.data_type == onnx.TensorProto.INT8 and len(w.dims) == 2]
        assert len(weights) == 12, "the six layers' two feed-forward weights each"
        assert 2 * 255 * max(int(np.abs(w).max()) for w in weights) < 2**15


# A CPU without AVX-512 or VNNI (AVX2 and FMA only), as many cloud hosts and desktops still are: ONNX Runtime
# then runs its other kernels, the ones that add pairs of 8-bit products in 16 bits.
EMULATED_CPU = "Haswell"
# 1 - cosine between this machine's vector and the emulated CPU's: float rounding alone left at most 2e-7
# (50 texts, 4 December 2026); weights at full 8-bit range, which saturate there, left more than 1e-5 on 74%.
SAME_VECTOR = 1e-5


def _emulator() -> str:
    """qemu-x86_64, to run pmbot on another CPU than this machine's; CI installs it (.ci/ensure-packages)."""
    qemu = shutil.which("qemu-x86_64")
    if qemu is None or platform.machine() != "x86_64":
        unavailable("PMBOT_TEST_EMULATED_CPU", "no qemu-x86_64 on an x86-64 machine (`apt-get install qemu-user`)")
    return qemu


@pytest.mark.timeout(1200)  # emulated, the model runs about a thousand times slower
def test_a_cpu_without_avx512_or_vnni_prepares_the_same_model_and_embeds_the_same_vectors(
    embedder: Embedder, tmp_path: Path
) -> None:
    """The same question must get the same answer on whichever CPU a server's host happens to have: the
    prepared model is the same file, and each vector the same but for float rounding (see semantic._prepare)."""
    texts = [
        "what does a product person spend the day on",
        "Our agency just moved me from coordinator to project manager, and the client keeps asking who owns the "
        "roadmap. Is that me now, or the product manager they hired last month?",
        "book me a flight to Lisbon on friday",
    ]
    cache, out = tmp_path / "cache", tmp_path / "vectors.npy"
    # A cold start there, as on a new host: its preparation runs in a child Python, emulated too, because
    # the wrapper is what that Python sees as its own executable (qemu's -0 sets argv[0]).
    python = tmp_path / "python"
    emulated = shlex.join([_emulator(), "-cpu", EMULATED_CPU])
    python.write_text(f'#!/bin/sh\nexec {emulated} -0 "$0" {shlex.quote(os.path.realpath(sys.executable))} "$@"\n')
    python.chmod(0o755)
    code = (
        "import sys, json, pathlib, numpy as np\n"
        "from bot.matching.cache import IndexCache\n"
        "from bot.matching.semantic import Embedder\n"
        "embedder = Embedder(None, IndexCache(pathlib.Path(sys.argv[1])))\n"
        "np.save(sys.argv[2], np.stack([embedder.embed(text) for text in json.loads(sys.argv[3])]))\n"
    )
    path = os.pathsep.join([str(Path(__file__).resolve().parents[1]), *site.getsitepackages()])
    done = subprocess.run([str(python), "-c", code, str(cache), str(out), json.dumps(texts)],
                          env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

    theirs = _prepared_model(cache)
    ours = CACHE_DIR / semantic.OPTIMISED_KIND / theirs.name
    for name in ("model.onnx", "model.onnx.data"):
        assert (theirs / name).read_bytes() == (ours / name).read_bytes(), f"{name} was prepared differently there"
    distance = 1 - np.sum(np.load(out) * [embedder.embed(text) for text in texts], axis=1)
    assert distance.max() <= SAME_VECTOR, distance


def test_a_damaged_prepared_model_is_logged_and_written_anew(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = IndexCache(tmp_path / "cache")
    expected = Embedder(cache=cache).embed("who owns the roadmap")
    folder = _prepared_model(tmp_path / "cache")
    data = folder / "model.onnx.data"
    size = data.stat().st_size
    data.write_bytes(data.read_bytes()[: size // 2])  # an interrupted copy of the cache folder
    with caplog.at_level(logging.WARNING, logger="pmbot.semantic"):
        damaged = Embedder(cache=cache)
    assert np.array_equal(damaged.embed("who owns the roadmap"), expected)
    assert any("damaged prepared model" in r.getMessage() for r in caplog.records)
    Embedder(cache=cache)
    assert data.stat().st_size == size, "the next start writes the prepared model whole again"


def test_a_cache_that_cannot_hold_the_prepared_model_only_costs_the_preparation(embedder: Embedder, tmp_path: Path) -> None:
    occupied = tmp_path / "cache"
    occupied.write_text("a file where the cache folder should be")
    assert np.array_equal(Embedder(cache=IndexCache(occupied)).embed("scope creep"), embedder.embed("scope creep"))


def test_parts_read_in_context_come_from_the_same_run_as_the_message(embedder: Embedder) -> None:
    """A long message's question parts are embedded inside it (one model run), each near its own wording."""
    opening = "We moved our whole team to a new tracker last spring and the migration took ages."
    question = "Who decides what gets built next?"
    second = "And who keeps the schedule?"
    text = f"{opening} {question} {second}"
    whole, (part, joined, absent) = embedder.embed_in_context(text, [question, f"{question} {second}", "book a flight?"])
    assert np.allclose(whole, embedder.embed(text), atol=1e-5), "the message's own vector does not change"
    alone, story = embedder.embed(question), embedder.embed(opening)
    assert float(part @ alone) > float(whole @ alone), "the part is nearer its own wording than the message is"
    assert float(part @ alone) > float(part @ story)
    assert joined is not None and not np.allclose(joined, part), "questions offered together pool both"
    assert absent is None, "a part that is not in the text cannot be read from it"


def test_a_part_before_the_window_the_model_keeps_is_not_read_in_context(embedder: Embedder) -> None:
    question = "What does a roadmap owner do?"
    text = question + " " + "We tried many tools and none of them stuck with the team. " * 12
    _, (part,) = embedder.embed_in_context(text, [question])
    assert part is None, "the model saw only the message's end: the matcher reads this part by its words first"


def test_a_part_mostly_inside_the_window_is_read_in_context(embedder: Embedder) -> None:
    story = "We tried many tools and none of them stuck with the team. " * 12
    lead = ("Someone in the team, a designer who joined last month from an agency where nobody planned more than "
            "a sprint ahead and every deadline was a guess, keeps asking about the roadmap.")
    question = "Who should own it, the product person or the delivery lead?"
    part = f"{lead} {question}"
    _, (read,) = embedder.embed_in_context(f"{story}{part}", [part])
    assert read is not None, "the model saw most of it (not its first words): no second run for it"
