"""Knowledge-gap clustering: what merges and what must stay apart (its speed: bench/operations.py)."""

from __future__ import annotations

import random

import pytest

from bot.gaps import Gap, cluster_questions


def test_empty_and_blank_input() -> None:
    assert cluster_questions([]) == []
    assert cluster_questions(["", "   ", "?!", "\n"]) == []


def test_typos_word_order_and_case_cluster_together() -> None:
    texts = [
        "What is a product manager?",
        "what is a prodcut manger",  # two typos
        "a product manager is what",  # word order
        "WHAT IS A PRODUCT MANAGER",  # case, no punctuation
        "What is a product manager?",
        "what is a product managr",
    ]
    [gap] = cluster_questions(texts)
    assert gap.count == 6
    assert gap.example == "What is a product manager?"
    assert gap.variants[0] == gap.example
    assert sorted(gap.variants) == sorted(set(texts))


def test_distinct_questions_stay_apart() -> None:
    texts = [
        "what is a product manager",
        "what is a project manager",  # one word, but the whole point of the bot
        "what is a program manager",
        "what is product management",
        "what is product management vs project management",  # superset of the one above
        "what is scrum",
        "what is kanban",
        "how do I write a product roadmap",
        "what salary can a junior product manager expect",
        "what salary can a junior project manager expect",
    ]
    gaps = cluster_questions(texts)
    assert len(gaps) == len(texts)
    assert all(gap.count == 1 and gap.variants == (gap.example,) for gap in gaps)


def test_role_typos_still_count_as_the_same_role() -> None:
    gaps = cluster_questions(
        [
            "what salary can a junior project manager expect",
            "what salary can a junior porject manager expect",
            "what salary can a junior product manager expect",
            "what salary can a junior prodcut manager expect",
        ]
    )
    assert {frozenset(g.variants) for g in gaps} == {
        frozenset({"what salary can a junior project manager expect", "what salary can a junior porject manager expect"}),
        frozenset({"what salary can a junior product manager expect", "what salary can a junior prodcut manager expect"}),
    }


def test_role_guard_can_be_turned_off() -> None:
    texts = ["what salary can a junior product manager expect", "what salary can a junior project manager expect"]
    assert len(cluster_questions(texts)) == 2
    assert len(cluster_questions(texts, contrasts=())) == 1


def test_counts_example_and_ordering() -> None:
    texts = (
        ["how do I become a product manager"] * 3
        + ["how to become a product manager"] * 4
        + ["How do I become a product manager?"] * 1
        + ["what is scrum"] * 2
        + ["What is Scrum?"] * 1
        + ["what does a scrum master do"] * 1
        + ["difference between product and project management"] * 1
        + ["product vs project management difference"] * 2
    )
    gaps = cluster_questions(texts)
    assert gaps == [
        Gap(
            example="how to become a product manager",
            count=8,
            variants=(
                "how to become a product manager",
                "how do I become a product manager",
                "How do I become a product manager?",
            ),
        ),
        Gap("what is scrum", 3, ("what is scrum", "What is Scrum?")),
        Gap(
            "product vs project management difference",
            3,
            ("product vs project management difference", "difference between product and project management"),
        ),
        Gap("what does a scrum master do", 1, ("what does a scrum master do",)),
    ]
    assert sum(g.count for g in gaps) == len(texts)


def test_every_text_lands_in_exactly_one_gap_and_result_is_deterministic() -> None:
    rng = random.Random(7)
    words = "what is a the product project manager management roadmap scrum sprint owner do how".split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 8))) for _ in range(500)]
    gaps = cluster_questions(texts)
    assert sum(g.count for g in gaps) == len(texts)
    seen = [v for g in gaps for v in g.variants]
    assert sorted(seen) == sorted(set(texts))
    assert [g.count for g in gaps] == sorted((g.count for g in gaps), reverse=True)
    assert cluster_questions(texts) == gaps


def test_threshold_bounds() -> None:
    texts = ["what is a product manager", "What is a product manager?", "what is a prodcut manager"]
    assert [g.count for g in cluster_questions(texts, threshold=100)] == [2, 1]  # only exact after normalising
    # 0 merges everything, except across roles while the role guard is on.
    assert [g.count for g in cluster_questions(texts + ["what is kanban"], threshold=0, contrasts=())] == [4]
    assert [g.count for g in cluster_questions(texts + ["what is kanban"], threshold=0)] == [3, 1]
    for bad in (-1, 100.5):
        with pytest.raises(ValueError, match="threshold"):
            cluster_questions(texts, threshold=bad)


def test_thousands_of_noisy_texts_keep_the_real_questions_together() -> None:
    rng = random.Random(1)
    base = [
        "what is a product manager", "what does a project manager do", "how do I become a product owner",
        "difference between product and project management", "what is a product roadmap",
        "how to run a sprint retrospective", "what certifications does a project manager need",
        "what is the salary of a product manager in europe", "how do product managers prioritise features",
        "what is the difference between a scrum master and a project manager",
    ]

    def typo(text: str) -> str:
        chars = list(text)
        i = rng.randrange(len(chars) - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return "".join(chars)

    vocabulary = " ".join(base).split()
    near_duplicates = [typo(rng.choice(base)) if rng.random() < 0.6 else rng.choice(base) for _ in range(3000)]
    # Unique word salad from the same vocabulary: the hard case, nearly every text a new leader.
    salad = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(4, 12))) for _ in range(2000)]

    gaps = cluster_questions(near_duplicates + salad)

    assert sum(g.count for g in gaps) == 5000
    # The ten real questions dominate, each in (nearly) one cluster of ~300.
    assert all(g.count > 150 for g in gaps[:10])


async def test_a_gap_links_its_latest_question_in_a_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The link opens the conversation it was asked in; /ask, DMs and old rows have none to give."""
    from datetime import datetime, timedelta, timezone

    from bot import reports
    from bot.store import EVERYWHERE, SqliteStore, UnansweredQuestion

    now = datetime.now(timezone.utc)

    def asked(minutes_ago: int, text: str, guild: int | None, message: int | None) -> UnansweredQuestion:
        return UnansweredQuestion(now - timedelta(minutes=minutes_ago), guild, 5, text, "fallback", None, 0.0,
                                  message_id=message)

    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        for row in (asked(30, "what is a raci chart", 1, 100), asked(20, "what is a RACI chart?", 1, 200),
                    asked(10, "what is a raci chart", None, 300),  # a DM: nobody else may open it
                    asked(5, "what is a raci chart", 1, None),  # /ask
                    asked(3, "how do i calibrate the zorblax frobnicator", None, 400)):
            await store.record_unanswered(row)
        found = {g.example: g.latest for g in await reports.gaps(store, 1, 10, EVERYWHERE)}
    assert found == {"what is a raci chart": "https://discord.com/channels/1/5/200",
                     "how do i calibrate the zorblax frobnicator": None}
    assert "latest: https://discord.com/channels/1/5/200" in reports.gaps_text(
        [reports.GapReport("what is a raci chart", 4, ("what is a raci chart",), None, None,
                           "https://discord.com/channels/1/5/200")], 1)


async def test_a_downvoted_answer_is_a_gap_that_names_the_answer_it_was_given(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Grouped with the same question's misses: a moderator sees it asked three times, and answered wrongly once."""
    from datetime import datetime, timezone

    from bot import reports
    from bot.discord.kb_replies import gaps_reply
    from bot.store import EVERYWHERE, SqliteStore, UnansweredQuestion

    def asked(text: str, kind: str, intent: str | None) -> UnansweredQuestion:
        return UnansweredQuestion(datetime.now(timezone.utc), 1, 5, text, kind, intent, 60.0)  # type: ignore[arg-type]

    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        for row in (asked("who writes user stories", "downvoted", "product-owner-role"),
                    asked("who write user stories", "suggest", "user-stories"),
                    asked("who writes user stories", "suggest", "user-stories"),
                    asked("what is a raci chart", "fallback", None)):
            await store.record_unanswered(row)
        found = {g.example: (g.count, g.best_intent, g.downvoted) for g in await reports.gaps(store, 1, 10, EVERYWHERE)}
        only = [(g.example, g.count) for g in await reports.gaps(store, 1, 10, EVERYWHERE, downvoted_only=True)]
    assert found == {"who writes user stories": (3, "user-stories", "product-owner-role"),
                     "what is a raci chart": (1, None, None)}
    assert only == [("who writes user stories", 1)], "what a 👎 asked, without the misses that bury it"

    shown = reports.GapReport("who writes user stories", 3, ("who writes user stories",), "user-stories",
                              downvoted="product-owner-role")
    assert "(answered product-owner-role, voted 👎)" in reports.gaps_text([shown], 1)
    listed = gaps_reply([shown], 30).body
    assert "answered `product-owner-role`, voted 👎 · closest: `user-stories`" in listed
    alone = gaps_reply([reports.GapReport("x", 1, ("x",), "product-owner-role", downvoted="product-owner-role")], 30)
    assert "answered `product-owner-role`, voted 👎\n" in alone.body + "\n" and "closest" not in alone.body


def test_the_gaps_spreadsheet_runs_no_formula_a_member_wrote_and_fits_discords_limit() -> None:
    import codecs
    import csv
    import io

    from bot.reports import GAPS_CSV_HEADER, GapReport, gaps_csv

    hostile = '=HYPERLINK("https://evil.example","click")'
    found = [
        GapReport(hostile, 3, (hostile, "-1+1", 'a, "quoted"\nsecond line'), "mvp", proposed="mvp"),
        GapReport("@everyone what is a PM?", 2, ("@everyone what is a PM?",), None, downvoted="pm-abbreviation",
                  latest="https://discord.com/channels/1/2/3"),
        GapReport("what about project managers?", 1, ("what about project managers?",), None, follows="mvp"),
    ]
    data, held = gaps_csv(found)
    assert data.startswith(codecs.BOM_UTF8) and held == 3
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(GAPS_CSV_HEADER)
    assert rows[1] == ["3", "'" + hostile, "mvp", "", "", "mvp", "",
                       f"'{hostile} | -1+1 | a, \"quoted\"\nsecond line"], "kept as text, quotes and line breaks intact"
    assert rows[2][:4] == ["2", "'@everyone what is a PM?", "", "pm-abbreviation"]
    assert rows[2][6] == "https://discord.com/channels/1/2/3" and rows[3][4] == "mvp"

    two, held = gaps_csv(found, max_bytes=len(data) - 1)
    assert held == 2 and len(two) < len(data) and list(csv.reader(io.StringIO(two.decode("utf-8-sig"))))[1:] == rows[1:3]


def test_a_preview_counts_a_gap_fixed_only_when_answered_and_not_as_voted_down(matcher) -> None:  # type: ignore[no-untyped-def]
    from bot.reports import GapReport, newly_answered

    mvp = "what is an mvp?"
    assert matcher.match(mvp).intent_id == "mvp"
    missed = GapReport(mvp, 2, (mvp,), None)
    voted_down = GapReport(mvp, 1, (mvp,), "mvp", downvoted="mvp")  # answered so before, and voted 👎
    chat = GapReport("best pizza in naples?", 5, ("best pizza in naples?",), None)
    assert newly_answered([chat, missed, voted_down], matcher) == [(missed, "mvp")]
