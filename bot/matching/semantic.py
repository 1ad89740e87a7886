"""Sentence embeddings: how close a question's meaning is to each phrasing, whatever words it uses.

The lexical signals (matcher.py) only see shared words; people often ask with
words no phrasing uses ("what does the product person do all day"). A small
sentence-embedding model (all-MiniLM-L6-v2 by default) places both in one
space where such questions land near the right phrasings. It runs on the CPU
through ONNX Runtime, one thread, with no PyTorch.

The default model (minilm/ beside this file, checked against MODEL_SHA256 below)
is all-MiniLM-L6-v2 (Apache-2.0, sentence-transformers) tuned on the
knowledge's phrasings by bench/tune_embedding.py and stored with int8 weights,
with the original model's tokenizer.json; minilm/NOTICE says what was changed.
It is kept in the repository rather than fetched from a package because no
package ships the tuned weights. PMBOT_EMBEDDING_MODEL may name
another folder holding a model.onnx and its tokenizer.json (a BERT-style model
whose first output is the token states), e.g. a multilingual one.

At its first start on a cache pmbot prepares the model (_prepare): the int8
weights unpacked, the feed-forward layers quantised for integer arithmetic, the
graph optimised. That needs the onnx package; the result is kept in the cache.

When the model cannot be loaded the bot says so once in the log and matches
with the lexical signals alone: a missing optional file never stops it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Sequence

import numpy as np

from bot.matching.cache import IndexCache, cache_key

if TYPE_CHECKING:
    from onnxruntime import GraphOptimizationLevel, InferenceSession, SessionOptions

log = logging.getLogger("pmbot.semantic")

MODEL = Path(__file__).resolve().parent / "minilm" / "model.onnx"
MODEL_SHA256 = "2e8821ff12d84cf9aff7c419ba7948ac88638f85423fe36635b63ef67ae6055a"  # bench/tune_embedding.py, 300 steps, seed 0
TOKENIZER = MODEL.with_name("tokenizer.json")
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# Tokens read of one text (its end, see below). A question is rarely longer, and cost grows with every
# token: about 3.5 ms a run plus 0.3 ms a token on one thread (6 ms at 8, 17 at 48, 21 at 64, 31 at 96).
# A long message is read whole in one run (Embedder.embed_in_context), so the window sets its cost and the
# p99. Such messages are mostly forum posts whose question leans on the story before it. At 48 tokens (kept
# for speed from 3 December) the real sets' messages of over 30 words were read about half right; at 80,
# over the 156 questions and 205 chat lines of that length, 7 more were right, none more wrong, one chat line
# fewer was answered (64 tokens: 3 more right; 96 and 128: 5 more and one more wrong, at a higher cost).
# The p99 on the real sets went from 42-57 to 60-74 ms on the slower EPYC (6 December 2026; bench/JOURNAL.md,
# thirty-first session).
MAX_TOKENS = 80
OPTIMISED_KIND = "onnx"  # the cache's folder entries holding the model as the bot runs it (_prepare)
OPTIMISED_LEVEL = "ORT_ENABLE_EXTENDED"
QUANTISED = "feed-forward MatMul weights, QInt8 per channel, 7 bits"  # how _prepare quantises: part of the cache key
# Each knowledge text is embedded in a run of its own, as a question is (Embedder.embed). Eight to a run, a
# phrasing's vector depended on which phrasings shared its run: cosines up to 0.035 apart between a cache
# built at once and one built up edit by edit, enough to move a few answers per set between two machines
# with the same knowledge. One text per run costs a cold start about a fifth more (12 s against 10 s for
# 5,263 texts, 4 December 2026).
EMBEDDING = "one text per run"  # part of the cache key: vectors made in batches are not these


class ModelUnavailable(Exception):
    """The embedding model or its tokenizer is missing, altered or unreadable."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _options(onnxruntime: ModuleType, level: GraphOptimizationLevel, threads: int = 1) -> SessionOptions:
    options = onnxruntime.SessionOptions()
    # One thread by default: the bot answers many people at once on a small machine; a question costs a few ms.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    options.graph_optimization_level = level
    return options


def _session(onnxruntime: ModuleType, model_file: Path, model_hash: str, cache: IndexCache | None,
             threads: int) -> InferenceSession:
    """The model's ONNX Runtime session, from its prepared copy (see _prepare) in the cache when there is one.

    Preparing takes ~6 s of CPU and peaks near 550 MB, so it is done once and kept: a later start
    maps the copy's 66 MB of weights instead of building them (0.2 s). Without a usable cache the
    copy is prepared in a temporary folder at every start, so every start embeds the same way.
    """
    levels = onnxruntime.GraphOptimizationLevel

    def open_session(path: Path) -> InferenceSession:
        # Already optimised: a second pass would only repeat the work.
        options = _options(onnxruntime, levels.ORT_DISABLE_ALL, threads)
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    key = cache_key(model_hash, onnxruntime.__version__, OPTIMISED_LEVEL, QUANTISED)
    if cache is not None and (folder := cache.folder(OPTIMISED_KIND, key)) is not None:
        if not folder.is_dir():
            try:
                cache.save_folder(OPTIMISED_KIND, key, lambda into: _prepare_apart(model_file, into))
            except ModelUnavailable:
                raise
            except Exception as exc:  # ORT reports a failed write (a full disk) with its own exception types
                log.warning("cannot keep the prepared model in %s (%s); preparing it at every start", folder.parent, exc)
        if folder.is_dir():
            try:
                return open_session(folder / "model.onnx")
            except Exception as exc:  # a damaged cache entry: ORT raises its own bare exception types
                log.warning("ignoring the damaged prepared model in %s (%s); writing it anew next start", folder, exc)
                cache.remove_folder(OPTIMISED_KIND, key)
    # Linux keeps the weights' file mapped after the folder is removed; elsewhere the folder may linger.
    with tempfile.TemporaryDirectory(prefix="pmbot-model-", ignore_cleanup_errors=True) as temp:
        _prepare_apart(model_file, Path(temp))
        return open_session(Path(temp) / "model.onnx")


def _prepare_apart(model_file: Path, into: Path) -> None:
    """_prepare in a child Python: its ~550 MB peak ends with the child, where this process's heap
    would keep ~110 MB of it for as long as the bot runs. A plain subprocess, not multiprocessing:
    spawn re-runs the parent's main script, which every script importing pmbot would have to guard."""
    if importlib.util.find_spec("onnx") is None:
        raise ModelUnavailable("onnx is not installed (run `make install`)")
    code = "import sys, pathlib, bot.matching.semantic as s; s._prepare(*map(pathlib.Path, sys.argv[1:]))"
    path = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]  # pmbot, installed or not
    done = subprocess.run([sys.executable, "-c", code, str(model_file), str(into)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))})
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1])


def _prepare(model_file: Path, into: Path) -> None:
    """Writes the model as the bot runs it into `into`: model.onnx, and its weights in model.onnx.data.

    Three steps, each by ONNX Runtime's own tools:
    1. Constant folding (BASIC) turns the shipped int8 weights into the float32 ones they stand for.
    2. The feed-forward layers' weights (each layer's two non-square MatMul weights, two thirds of
       the model's) are quantised to int8 per output channel, with activations quantised at run
       time: those products run in integer arithmetic. A question then costs about a fifth less
       (real-dev p50 12.7-14.3 ms against 14.6-19.3, p99 30.5-37.3 against 36.2-48.1 in seven runs
       each, 3 December 2026), with answers within a few questions of the float32 model's on every
       set under the same decision rule.
       Quantising the attention weights too made a run 23% faster on an AVX2 CPU, but cost about two
       points of right answers at as much answered chat under cross-validation (4 December 2026).
       The weights use 7 of the 8 bits (reduce_range) so that the integer products are exact on every
       CPU: without VNNI, ONNX Runtime adds pairs of 8-bit products in 16 bits, which saturates at
       full range (2 x 255 x 127 > 2^15; with 7 bits, 2 x 255 x 64 < 2^15). At full range the same
       question could get another answer on another machine: two questions of real-dev did, between
       an AVX2 and a VNNI machine (3 December 2026). With 7 bits, vectors made on an emulated AVX2 CPU
       differ from a VNNI machine's by float rounding alone (tests/test_semantic.py).
    3. The EXTENDED optimisations, saved, so a start maps the result. EXTENDED, not ALL: ALL adds
       layout changes tied to this CPU, and the cache may move (a Docker volume).
    """
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folded, quantised = into / "folded.onnx", into / "quantised.onnx"
    options = _options(onnxruntime, onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    options.optimized_model_filepath = str(folded)
    onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    model = onnx.load(str(folded))
    weights = {w.name: w.dims for w in model.graph.initializer}
    feed_forward = [node.name for node in model.graph.node if node.op_type == "MatMul"
                    and any(len(dims := weights.get(name, ())) == 2 and dims[0] != dims[1] for name in node.input)]
    if feed_forward:
        quantize_dynamic(model, quantised, per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
                         nodes_to_quantize=feed_forward)
    else:  # a model with no float feed-forward weights (already quantised): only the optimisations below
        onnx.save(model, str(quantised))
    del model
    options = _options(onnxruntime, getattr(onnxruntime.GraphOptimizationLevel, OPTIMISED_LEVEL))
    options.optimized_model_filepath = str(into / "model.onnx")
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", "model.onnx.data")
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    onnxruntime.InferenceSession(str(quantised), options, providers=["CPUExecutionProvider"])
    folded.unlink()
    quantised.unlink()


_QUESTIONS = re.compile(r"[^?]+\?+")  # a joined part's pieces (question_finder.py)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Each vector (the last axis) scaled to length 1, so that cosine similarity is a dot product."""
    return (vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


class Embedder:
    """Turns texts into unit-length vectors; cosine similarity is then a dot product."""

    def __init__(self, folder: Path | None = None, cache: IndexCache | None = None, threads: int = 1) -> None:
        """`cache` keeps the model as ONNX Runtime optimises it, so later starts map it instead of rebuilding it.

        `threads` above 1 only for embedding a whole knowledge on an otherwise idle machine (the test
        suite's warm-up): serving, many questions at once, wants one thread per question.
        """
        if folder is None:
            model_file, tokenizer_file = MODEL, TOKENIZER
            pinned = {model_file: MODEL_SHA256, tokenizer_file: TOKENIZER_SHA256}
        else:
            model_file, tokenizer_file = folder / "model.onnx", folder / "tokenizer.json"
            pinned = {}
        hashes = []
        for path in (model_file, tokenizer_file):
            if not path.is_file():
                raise ModelUnavailable(f"{path} does not exist")
            hashes.append(_sha256(path))
            if path in pinned and hashes[-1] != pinned[path]:
                raise ModelUnavailable(f"{path} is not the pinned file (sha256 {hashes[-1]}, expected {pinned[path]})")
        # What the cached phrasing vectors were made with: another model, tokenizer, token limit or quantisation
        # means other vectors.
        self.hash = hashlib.sha256(f"{''.join(hashes)}{MAX_TOKENS}{QUANTISED}{EMBEDDING}".encode()).hexdigest()
        try:  # imported here: a start that never embeds pays nothing for them
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable(f"{exc.name} is not installed (run `make install`)") from exc
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
            self.session = _session(onnxruntime, model_file, hashes[0], cache, threads)
        except ModelUnavailable:
            raise
        except Exception as exc:  # ORT and tokenizers raise their own bare exception types for bad files
            raise ModelUnavailable(f"cannot read {model_file.parent}: {exc}") from exc
        self.tokenizer.no_padding()  # the shipped tokenizer.json pads to 128; one text per run needs none
        # A long text keeps its end, where people put the question.
        self.tokenizer.enable_truncation(MAX_TOKENS, direction="left")
        self.inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()  # one session run at a time: a thread pool of one would queue anyway
        # The last set embed_many returned, by text digest: a reload, a check before an upload, or a second
        # matcher in the same process re-embeds only what changed, even with no cache on disk.
        self._last: dict[bytes, np.ndarray] = {}

    def embed(self, text: str) -> np.ndarray:
        """The text's unit-length float32 vector: the mean of its token states (sentence-transformers' pooling).

        One text per model run, never a batch: the feed-forward layers quantise their activations with one
        scale per run (_prepare), so in a batch a text's vector would depend on the texts beside it.
        """
        ids = np.array([self.tokenizer.encode(text).ids], dtype=np.int64)
        return _unit(self._states(ids)[0].mean(axis=0))

    def embed_in_context(self, text: str, parts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """The text's vector (as `embed` gives it), and each part's read within the text, from one model run.

        A long message's question parts are compared with the message itself (matcher.py): one run
        costs about 60% of the CPU of embedding each apart (13 against 21 ms at p50 on real-dev's and
        real-tune's long messages, 3 December, under load). A part's vector is the mean of its own tokens'
        states (and the sentence marks'), which saw the words around it. None for a part that is
        not made of pieces of the text, or that lies mostly before the window the model keeps (its end):
        the matcher reads that one by its words first.
        """
        encoding = self.tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        states = self._states(ids)[0]
        special = np.array(encoding.special_tokens_mask, dtype=bool)
        starts, ends = np.array(encoding.offsets).reshape(-1, 2).T
        window = int(starts[~special].min()) if (~special).any() else 0  # the first character the model saw
        out: list[np.ndarray | None] = []
        for part in parts:
            # Several questions offered together are pieces of the text, joined: each is found in turn.
            rows, at, seen, length = special.copy(), 0, 0, 0
            for piece in [part] if part in text else [p.strip() for p in _QUESTIONS.findall(part)]:
                found = text.find(piece, at)
                if found < 0:
                    break
                rows |= (starts >= found) & (ends <= found + len(piece))
                at = found + len(piece)
                seen += max(0, at - max(found, window))
                length += len(piece)
            else:
                # Mostly inside the window: the model saw enough of it (a question with the sentence before it).
                if 2 * seen > length:
                    out.append(_unit(states[rows].mean(axis=0)))
                    continue
            out.append(None)
        return _unit(states.mean(axis=0)), out

    def _states(self, ids: np.ndarray) -> np.ndarray:
        """The model's last hidden states for one text's token ids (shape 1 × tokens)."""
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            return self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]

    def embed_many(self, texts: Sequence[str], cache: IndexCache | None = None) -> np.ndarray:
        """The knowledge's texts embedded, from the cache where it has them.

        The exact set (model + every text) is one cache entry, read whole at start. After a
        knowledge edit, the vectors of texts that did not change are taken from the model's last
        entry, so only new or edited phrasings are embedded (a cold start embeds 5,000 texts in about 12 s).
        """
        digests = np.array([hashlib.sha256(t.encode()).digest() for t in texts], dtype="S32")
        key = hashlib.sha256(self.hash.encode() + digests.tobytes()).hexdigest()
        if cache is not None and (stored := cache.load("embeddings", key)) is not None:
            self._last = dict(zip(digests.tolist(), stored["vectors"]))
            return stored["vectors"]
        known = dict(self._last)
        if not known and cache is not None and (last := cache.load("embeddings-last", self.hash)) is not None:
            known = dict(zip(last["digests"].tolist(), last["vectors"]))
        for i, digest in enumerate(digests.tolist()):
            if digest not in known:
                known[digest] = self.embed(texts[i])
        vectors = np.array([known[d] for d in digests.tolist()], dtype=np.float32).reshape(len(texts), -1)
        self._last = dict(zip(digests.tolist(), vectors))
        if cache is not None:
            cache.save("embeddings", key, {"vectors": vectors})
            cache.save("embeddings-last", self.hash, {"digests": digests, "vectors": vectors})
        return vectors


_loaded: dict[Path | None, Embedder | None] = {}
_loading = threading.Lock()


def load_embedder(folder: Path | None = None, cache: IndexCache | None = None) -> Embedder | None:
    """The embedder for `folder` (None: the bundled default), loaded once per process; None if it cannot load.

    `cache`: where the first load keeps the prepared model (see _session).

    The failure is logged once, as a warning that says what to do: the bot still answers, lexically.
    """
    with _loading:
        if folder not in _loaded:
            try:
                _loaded[folder] = Embedder(folder, cache)
            except ModelUnavailable as exc:
                log.warning("semantic matching is off, answering from the words alone: %s", exc)
                _loaded[folder] = None
        return _loaded[folder]
