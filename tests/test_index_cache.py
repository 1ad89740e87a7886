"""The on-disk index cache: a start on unchanged knowledge reads the index back instead of rebuilding it,
and nothing about the cache (stale, damaged, unwritable) can change an answer or stop the bot."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import ConfigError, load_settings
from bot.knowledge import KnowledgeBase, KnowledgeError, load_knowledge
from bot.knowledge import loader
from bot.matching import Matcher
from bot.matching import index as index_module
from bot.matching.cache import KEEP_PER_KIND, IndexCache, Marks, pack_strings, unpack_strings
from bot.matching.classifier import IntentClassifier
from bot.matching.index import CACHE_KIND, KnowledgeIndex
from tests.conftest import CACHE_DIR, KNOWLEDGE, clean_env, new_intent, warm_cache_copy

QUESTIONS = [
    "PdM vs PjM, what's the difference?",
    "how do i become a product manager",
    "we shipped and the coordinator moved on to another initiative, does that always happen?",
    "what's the best pizza in rome",
    "what does a PM do",
    "what are you for",  # a phrasing of stop words alone, answered only word for word
]
SMALL_QUESTIONS = ["what are okrs", "how do kanban boards work", "what does a PM do", "what's the best pizza in rome"]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[IntentClassifier | None]:
    """Every full index build, recorded by the classifier its training started from: a cache hit must not add one."""
    seen: list[IntentClassifier | None] = []
    real = KnowledgeIndex.build.__func__  # type: ignore[attr-defined]

    def counting(cls: type[KnowledgeIndex], kb: KnowledgeBase, previous: IntentClassifier | None = None) -> KnowledgeIndex:
        seen.append(previous)
        return real(cls, kb, previous)

    monkeypatch.setattr(KnowledgeIndex, "build", classmethod(counting))
    return seen


def answers(matcher: Matcher, questions: list[str] = QUESTIONS) -> list[tuple[str, str | None, float, tuple[str, ...]]]:
    return [(r.kind, r.intent_id, r.score, r.suggestions) for r in map(matcher.match, questions)]


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    """Three intents: the rebuild tests are about the cache, and this index builds in milliseconds (the shipped one in seconds)."""
    folder = tmp_path / "small-knowledge"
    folder.mkdir()
    (folder / "categories.yaml").write_bytes((KNOWLEDGE / "categories.yaml").read_bytes())
    for intent_id, subject in (("scrum-basics", "scrum teams"), ("okr-basics", "okrs"), ("kanban-basics", "kanban boards")):
        (folder / f"{intent_id}.yaml").write_bytes(new_intent(intent_id, subject))
    return folder


@pytest.fixture
def small_kb(small_folder: Path) -> KnowledgeBase:
    return load_knowledge(small_folder)


def entries(root: Path) -> list[Path]:
    return sorted((root / CACHE_KIND).glob("*.npz"))


def test_a_second_start_reads_the_index_and_answers_exactly_alike(
    kb: KnowledgeBase, matcher: Matcher, tmp_path: Path, builds: list[KnowledgeBase]
) -> None:
    cache = IndexCache(tmp_path)
    first = Matcher(kb, cache=cache)
    assert len(builds) == 1 and len(entries(tmp_path)) == 1
    second = Matcher(kb, cache=cache)
    assert len(builds) == 1, "the second start rebuilt instead of reading the cache"
    assert answers(second) == answers(first) == answers(matcher)


def test_changed_knowledge_is_rebuilt_not_served_from_the_old_index(small_folder: Path, tmp_path: Path, builds: list) -> None:
    cache = IndexCache(tmp_path / "cache")
    Matcher(load_knowledge(small_folder), cache=cache)
    edited_file = small_folder / "okr-basics.yaml"
    edited_file.write_text(edited_file.read_text().replace("    phrasings:\n", "    phrasings:\n      - zanzibar quokka wombat\n", 1))
    edited = Matcher(load_knowledge(small_folder), cache=cache)
    assert len(builds) == 2
    assert edited.match("zanzibar quokka wombat").kind == "answer"
    assert len(entries(tmp_path / "cache")) == 2


def test_a_rebuild_starts_training_from_the_last_index_read_or_built(
    small_folder: Path, tmp_path: Path, builds: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teach, an upload or an edit on disk changes the knowledge a little: its training starts from the weights of
    the index this process last read or built, not from nothing (IntentClassifier._start_from)."""
    cache = IndexCache(tmp_path / "cache")
    Matcher(load_knowledge(small_folder), cache=cache)
    monkeypatch.setattr(index_module, "_last_classifier", None)  # as in a new process: only the disk has it
    served = Matcher(load_knowledge(small_folder), cache=cache)
    edited_file = small_folder / "okr-basics.yaml"
    edited_file.write_text(edited_file.read_text().replace("    phrasings:\n", "    phrasings:\n      - zanzibar quokka wombat\n", 1))
    taught = Matcher(load_knowledge(small_folder), cache=cache)
    assert builds[-1] is served.classifier
    assert taught.match("zanzibar quokka wombat").intent_id == "okr-basics"


def test_after_an_upgrade_the_first_build_starts_from_the_index_the_old_code_left(
    small_kb: KnowledgeBase, tmp_path: Path, builds: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New matching code keys its own index, so a deploy that changes it trains again: from the weights the old code
    left in the cache for the same knowledge, which is all but the optimum, rather than from nothing."""
    cache = IndexCache(tmp_path / "cache")
    old = Matcher(small_kb, cache=cache)
    monkeypatch.setattr(index_module, "_last_classifier", None)  # the upgraded pmbot's first process
    monkeypatch.setattr(index_module, "code_version", lambda: "an edited matcher.py")
    upgraded = Matcher(small_kb, cache=cache)
    start = builds[-1]
    assert start is not None and start.labels == old.classifier.labels
    assert np.array_equal(start.weights.values, old.classifier.weights.values)
    assert [r[:2] for r in answers(upgraded, SMALL_QUESTIONS)] == [r[:2] for r in answers(old, SMALL_QUESTIONS)]


def test_the_newest_entry_is_the_one_last_saved_or_read(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path)
    assert cache.newest("matcher") is None
    for n in range(3):
        cache.save("matcher", f"{n:064x}", {"n": np.array([n])})
        os.utime(tmp_path / "matcher" / f"{n:064x}.npz", ns=(10**18 + n, 10**18 + n))
    assert cache.newest("matcher")["n"].tolist() == [2]
    cache.load("matcher", f"{0:064x}")
    assert cache.newest("matcher")["n"].tolist() == [0]
    assert IndexCache(None).newest("matcher") is None


def test_other_matching_code_does_not_read_an_index_built_by_this_code(
    small_kb: KnowledgeBase, tmp_path: Path, builds: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = IndexCache(tmp_path / "cache")
    Matcher(small_kb, cache=cache)
    monkeypatch.setattr(index_module, "code_version", lambda: "an edited classifier.py")
    Matcher(small_kb, cache=cache)
    assert len(builds) == 2


def test_a_damaged_cache_file_is_logged_and_rebuilt(
    small_kb: KnowledgeBase, tmp_path: Path, builds: list, caplog: pytest.LogCaptureFixture
) -> None:
    cache = IndexCache(tmp_path / "cache")
    first = Matcher(small_kb, cache=cache)
    [entry] = entries(tmp_path / "cache")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])  # a crash mid-copy, a full disk…
    with caplog.at_level(logging.WARNING, logger="pmbot.cache"):
        rebuilt = Matcher(small_kb, cache=cache)
    assert len(builds) == 2 and "unreadable cache file" in caplog.text
    assert answers(rebuilt, SMALL_QUESTIONS) == answers(first, SMALL_QUESTIONS)
    Matcher(small_kb, cache=cache)
    assert len(builds) == 2, "the rebuilt index replaced the damaged entry"


def test_an_entry_missing_arrays_or_holding_pickles_is_rebuilt(small_kb: KnowledgeBase, tmp_path: Path, builds: list) -> None:
    cache = IndexCache(tmp_path / "cache")
    Matcher(small_kb, cache=cache)
    [entry] = entries(tmp_path / "cache")
    np.savez(entry, classifier=np.array([{"not": "data"}], dtype=object))  # needs pickle to read: refused
    Matcher(small_kb, cache=cache)
    np.savez(entry, unrelated=np.zeros(3))
    Matcher(small_kb, cache=cache)
    assert len(builds) == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_cache_folder_only_costs_the_rebuild(
    kb: KnowledgeBase, matcher: Matcher, tmp_path: Path, builds: list, caplog: pytest.LogCaptureFixture
) -> None:
    tmp_path.chmod(0o500)
    try:
        with caplog.at_level(logging.WARNING, logger="pmbot.cache"):
            served = Matcher(kb, cache=IndexCache(tmp_path / "cache"))
    finally:
        tmp_path.chmod(0o700)
    assert "cannot write the index cache" in caplog.text and "PMBOT_CACHE_DIR" in caplog.text
    assert answers(served) == answers(matcher)


def test_a_cache_path_that_is_a_file_only_costs_the_rebuild(
    small_kb: KnowledgeBase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same refusal as a read-only disk, and one that also happens when running as root."""
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="pmbot.cache"):
        served = Matcher(small_kb, cache=IndexCache(blocker))
    assert "cannot write the index cache" in caplog.text
    assert served.match("how do kanban boards work").intent_id == "kanban-basics"
    assert blocker.read_text() == "not a folder"


def test_old_entries_are_pruned_so_the_cache_does_not_grow_without_end(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path)
    for n in range(12):
        cache.save("matcher", f"{n:064x}", {"n": np.array([n])})
    assert len(entries(tmp_path)) == 8
    assert cache.load("matcher", f"{11:064x}")["n"].tolist() == [11]
    assert cache.load("matcher", f"{0:064x}") is None


def test_processes_sharing_the_cache_fill_a_folder_entry_once(tmp_path: Path) -> None:
    """Shards starting together on an empty cache: the second waits for the first's folder (the prepared
    model, ~550 MB to make) instead of making its own."""
    key = "cd" * 32
    second_process = """if True:
        import sys
        from pathlib import Path
        from bot.matching.cache import IndexCache
        def write(into):
            (into / "made-by").write_text("second")
            (into.parent.parent / "second-made-it").touch()
        print(IndexCache(Path(sys.argv[1])).save_folder("onnx", sys.argv[2], write))
    """
    second: list[subprocess.Popen[str]] = []

    def write(into: Path) -> None:
        (into / "made-by").write_text("first")
        # Started while this process holds the entry: it must not make the entry again.
        second.append(subprocess.Popen([sys.executable, "-c", second_process, str(tmp_path), key],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}))

    folder = IndexCache(tmp_path).save_folder("onnx", key, write)
    out, err = second[0].communicate(timeout=60)
    assert second[0].returncode == 0, err
    assert folder is not None and Path(out.strip()) == folder
    assert (folder / "made-by").read_text() == "first"
    assert not (tmp_path / "second-made-it").exists(), "the second process made the entry again"
    assert [p.name for p in (tmp_path / "onnx").iterdir() if p.is_dir()] == [folder.name]


def snapshot(folder: Path) -> dict[Path, tuple[int, int]]:
    return {f: (f.stat().st_mtime_ns, f.stat().st_size) for f in folder.rglob("*")}


def test_a_read_only_cache_is_read_where_the_cache_lacks_an_entry_and_never_changed(tmp_path: Path) -> None:
    """An image's cache, filled when it was built: a container reads it, and what it builds goes to its own cache."""
    shipped = IndexCache(tmp_path / "shipped")
    for n in range(KEEP_PER_KIND):
        shipped.save("matcher", f"{n:064x}", {"n": np.array([n])})
    shipped.save("schema-checked", "ab" * 32, {})
    made = shipped.save_folder("onnx", "cd" * 32, lambda into: (into / "model.onnx").write_text("prepared"))
    before = snapshot(tmp_path / "shipped")
    cache = IndexCache(tmp_path / "own", read_only=tmp_path / "shipped")
    assert cache.load("matcher", f"{3:064x}")["n"].tolist() == [3]
    assert "ab" * 32 in Marks(cache, "schema-checked")
    assert cache.folder("onnx", "cd" * 32) == made
    assert cache.newest("matcher") is not None
    for n in range(KEEP_PER_KIND, KEEP_PER_KIND + 3):  # a teach or an edit builds anew, into its own cache
        cache.save("matcher", f"{n:064x}", {"n": np.array([n])})
    cache.remove_folder("onnx", "cd" * 32)  # as for a damaged model: only an entry of its own may go
    assert snapshot(tmp_path / "shipped") == before, "the read-only cache was written, touched or pruned"
    assert cache.newest("matcher")["n"].tolist() == [KEEP_PER_KIND + 2]
    assert len(entries(tmp_path / "own")) == 3
    cache.save("matcher", f"{3:064x}", {"n": np.array([-3])})
    assert cache.load("matcher", f"{3:064x}")["n"].tolist() == [-3], "its own entry comes first"
    assert IndexCache(None, read_only=tmp_path / "shipped").load("matcher", f"{0:064x}") is not None


def test_a_start_on_a_warmed_read_only_cache_builds_and_writes_nothing(small_folder: Path, tmp_path: Path) -> None:
    """`pmbot warm-cache` where an image is built, then a container's first start: it reads what a start needs from
    PMBOT_READONLY_CACHE_DIR instead of spending ~35 s of CPU and a 650 MB peak on building it."""
    shipped = tmp_path / "shipped"
    (shipped / "onnx").mkdir(parents=True)  # the prepared model (6 s of CPU to make) from the run's warm cache
    for prepared in filter(Path.is_dir, (CACHE_DIR / "onnx").iterdir()):
        shutil.copytree(prepared, shipped / "onnx" / prepared.name, copy_function=os.link)
    env = clean_env(PMBOT_CACHE_DIR=str(shipped), PMBOT_KNOWLEDGE=str(small_folder))
    warmed = subprocess.run([sys.executable, "-m", "bot", "warm-cache"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert warmed.returncode == 0, warmed.stderr
    assert f"PMBOT_READONLY_CACHE_DIR={shipped}" in warmed.stdout
    others = {p: 0o005 if p.is_dir() else 0o004 for p in (shipped, *shipped.rglob("*"))}  # r-x, or r--
    private = [p for p, needed in others.items() if p.stat().st_mode & needed != needed]
    assert private == [], "the image's runtime user could not read these"
    shipped.chmod(0o500)  # as an image's folder is to its runtime user (root may still write: the snapshot checks)
    before = snapshot(shipped)
    own = tmp_path / "own"
    ask = [sys.executable, "-m", "bot", "ask", "how do kanban boards work", "--json"]
    try:
        started = subprocess.run(ask, env=env | {"PMBOT_CACHE_DIR": str(own), "PMBOT_READONLY_CACHE_DIR": str(shipped)},
                                 capture_output=True, text=True, timeout=120, check=True)
    finally:
        shipped.chmod(0o700)
    assert '"intent": "kanban-basics"' in started.stdout
    assert not own.exists() or not [f for f in own.rglob("*") if f.is_file()], "the start built what the image holds"
    assert snapshot(shipped) == before
    alone = subprocess.run(ask, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert started.stdout == alone.stdout


def test_warming_a_cache_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "bot", "warm-cache"], env=clean_env(PMBOT_CACHE_DIR=str(blocker / "cache")),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"cannot write the cache folder {blocker / 'cache'}" in done.stderr and "PMBOT_CACHE_DIR" in done.stderr


def test_a_read_only_cache_that_is_not_a_folder_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="PMBOT_READONLY_CACHE_DIR.*warm-cache"):
        load_settings({"PMBOT_READONLY_CACHE_DIR": "/nonexistent/pmbot-cache"}, dotenv=None)


def test_caching_off_writes_nothing(tmp_path: Path) -> None:
    cache = IndexCache(None)
    cache.save("matcher", "ab" * 32, {"n": np.zeros(1)})
    assert cache.load("matcher", "ab" * 32) is None
    assert list(tmp_path.iterdir()) == []


def test_strings_survive_packing_whatever_they_hold() -> None:
    for strings in ([], [""], ["a", "", "héllo wörld", "tab\there", "line\nbreak", "emoji 🚀"]):
        assert unpack_strings(pack_strings(strings)) == strings


@pytest.mark.skipif(not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2, reason="counts threads in /proc")
def test_serving_uses_one_blas_thread() -> None:
    """NumPy's BLAS would start a thread per core; a matcher's few small products only lose by it."""
    code = "import os, bot.service, numpy; a = numpy.ones((300, 300)); a @ a; print(len(os.listdir('/proc/self/task')))"
    env = {k: v for k, v in clean_env().items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "1"


def test_the_cache_folder_is_pmbot_cache_dir_else_the_xdg_one() -> None:
    assert load_settings({"PMBOT_CACHE_DIR": "/srv/pmbot-cache"}, dotenv=None).cache_dir == Path("/srv/pmbot-cache")
    assert load_settings({"XDG_CACHE_HOME": "/var/cache/me"}, dotenv=None).cache_dir == Path("/var/cache/me/pmbot")
    assert load_settings({}, dotenv=None).cache_dir == Path.home() / ".cache" / "pmbot"


def test_the_command_line_keeps_its_index_in_pmbot_cache_dir() -> None:
    command = [sys.executable, "-m", "bot", "ask", "how do i become a product manager", "--json"]
    cache = warm_cache_copy()
    shutil.rmtree(cache / CACHE_KIND, ignore_errors=True)  # the phrasings' vectors are warm, the index is not
    env = clean_env(PMBOT_CACHE_DIR=str(cache))
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert len(entries(cache)) == 1
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert second.stdout == first.stdout and '"intent": "become-product-manager"' in second.stdout


def test_unchanged_knowledge_skips_the_schema_check_and_an_edit_is_checked_again(
    knowledge_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = Marks(IndexCache(tmp_path), "schema-checked")
    load_knowledge(knowledge_copy, checked=checked)
    schema_checks: list[str] = []
    real = loader._schema_problems
    monkeypatch.setattr(loader, "_schema_problems", lambda doc: schema_checks.append(doc.name) or real(doc))
    again = load_knowledge(knowledge_copy, checked=checked)
    assert schema_checks == [] and again.intents, "files that passed the check before are not checked again"
    edited = knowledge_copy / "careers.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nbogus_field: 1\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="unknown field 'bogus_field'"):
        load_knowledge(knowledge_copy, checked=checked)
    assert len(schema_checks) == len(list(knowledge_copy.glob("*.yaml")))
