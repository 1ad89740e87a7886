"""Normalisation: what people type in chat becomes the words the knowledge uses."""

from __future__ import annotations

from bot.matching import Matcher
from bot.matching.normalise import MAX_MESSAGE_CHARS, Normaliser, basic_tokens, clean, fold_plural, without_markup


def test_case_unicode_accents_and_punctuation_disappear() -> None:
    assert basic_tokens("WHAT is a Próduct   Manager?!") == ["what", "is", "a", "product", "manager"]
    assert basic_tokens("ｐｒｏｄｕｃｔ") == ["product"]  # full-width letters


def test_contractions_and_chat_shorthand_expand() -> None:
    assert basic_tokens("what's the diff b/w them, u know") == ["what", "is", "the", "diff", "between", "them", "you", "know"]
    assert basic_tokens("isn’t it") == ["is", "not", "it"]  # curly apostrophe


def test_plurals_fold_consistently_but_not_small_words() -> None:
    assert fold_plural("managers") == "manager"
    assert fold_plural("responsibilities") == "responsibility"
    assert fold_plural("does") == "does"
    assert fold_plural("process") == "process"


def test_discord_markup_and_urls_are_not_words() -> None:
    text = "<@123456789> <@&42> <#99> <:pepe:1234> see https://example.com/x what is scope creep"
    assert basic_tokens(text) == ["see", "what", "is", "scope", "creep"]


def test_a_name_mentioned_as_typed_is_not_a_word() -> None:
    """Logs and bridges from IRC, Slack or Matrix write mentions as "@name", not Discord's <@id>: a name is no
    topic, and as an unknown word it made "hey @SpiteShoonerism" a "Did you mean: Hello?". An e-mail is no mention."""
    assert basic_tokens("hey @Spite.Shoonerism, @lee-ann: what is scope creep") == ["hey", "what", "is", "scope", "creep"]
    assert "example" in basic_tokens("write to me@example.com")


def test_a_wave_says_hello() -> None:
    """Discord's 👋 and IRC's "o/" greet; the cheer "\\o/" and "i/o" do not."""
    assert basic_tokens("👋🏽 o/ O/") == ["hello"] * 3
    assert "hello" not in basic_tokens("\\o/ it works, no i/o errors")


def test_a_quiz_stem_is_no_topic() -> None:
    assert basic_tokens("Which of the following is a Scrum artifact?") == ["which", "is", "a", "scrum", "artifact"]
    assert "following" in basic_tokens("following the launch, who owns the product?")


def test_long_input_is_cut_before_anything_else() -> None:
    assert len(clean("ab" * 50_000)) == MAX_MESSAGE_CHARS


def test_stretched_words_shrink_to_the_word_meant() -> None:
    assert basic_tokens("heyyy bot, pleeease help, sooo confused") == ["hey", "bot", "please", "help", "so", "confused"]
    assert basic_tokens("goood job, thanksss") == ["good", "job", "thank"]  # a real double letter stays double


def test_abbreviations_become_the_canonical_role_names(matcher: Matcher) -> None:
    tokens = matcher.normaliser.tokens
    assert tokens("PdM vs PjM") == ["product", "manager", "versus", "project", "manager"]
    assert tokens("prod mgr or proj mgmt") == ["product", "manager", "or", "project", "management"]
    assert tokens("what does a PO do") == ["what", "does", "a", "product", "owner", "do"]


def test_typos_are_corrected_towards_the_knowledge(matcher: Matcher) -> None:
    tokens = matcher.normaliser.tokens
    assert tokens("prodcut managment") == ["product", "management"]
    assert tokens("scope creap") == ["scope", "creep"]
    assert tokens("tripple constraint") == ["triple", "constraint"]


def test_real_words_are_never_corrected_into_domain_words(matcher: Matcher) -> None:
    tokens = matcher.normaliser.tokens
    assert "protect" in tokens("how do I protect my account")
    assert "price" in tokens("what is the price of rice")


def test_a_manager_of_another_kind_is_not_one_of_ours(matcher: Matcher) -> None:
    tokens = matcher.normaliser.tokens
    assert tokens("how do I become a hotel manager")[-1] == "hotel-manager"
    assert "manager" in tokens("how do I become a good project manager")
    assert "owner" not in tokens("who is the server owner")


def test_an_inflected_word_the_knowledge_lacks_becomes_its_base_form() -> None:
    normaliser = Normaliser(["how do I scope a study", "who should plan the launch"], {})
    assert normaliser.tokens("they scoped and planned it, we studied the launching") == [
        "they", "scope", "and", "plan", "it", "we", "study", "the", "launch",
    ]
    assert normaliser.correct("launch") == "launch"


def test_a_role_word_is_never_the_base_of_another_verb() -> None:
    normaliser = Normaliser(["what does a program manager do", "who owns the project and the product"], {})
    assert normaliser.tokens("who programmed it, the projected one") == ["who", "programmed", "it", "the", "projected", "one"]


def test_symbols_typed_for_words_become_the_words() -> None:
    assert basic_tokens("PdM = PjM?") == ["pdm", "same", "as", "pjm"]
    assert basic_tokens("PjM -> PdM, PdM > PjM?") == ["pjm", "to", "pdm", "pdm", "more", "than", "pjm"]
    assert basic_tokens("> quoting someone") == ["quoting", "someone"]  # Discord's quote marker is not "more than"
    assert basic_tokens("as they said\n> quoting someone") == ["as", "they", "said", "quoting", "someone"]


def test_discord_formatting_leaves_the_words_as_written() -> None:
    """What the model reads: Discord's marks and links go, the words keep their case and punctuation."""
    assert without_markup("<@123> **Is a PO a _product_ manager?** ||asking for a friend||") == "  Is a PO a product manager? asking for a friend"
    assert without_markup("> quoted line\n>>> whole quote\n# Heading\n-# small print") == "quoted line\nwhole quote\nHeading\nsmall print"
    assert without_markup("see [the PMBOK guide](https://pmi.org/x) or <https://pmi.org>, `/ask` ~~it~~") == "see the PMBOK guide or  , /ask it"
    assert without_markup("A ______ owns the backlog, not snake_case") == "A ______ owns the backlog, not snake_case"
    assert without_markup("how do I use </kb why:1234567890123>?") == "how do I use /kb why?"
    assert without_markup("it fails:\n```py\nwhy = 'what?'\n```\nany idea?") == "it fails:\n\ncode\n\nany idea?"
    assert without_markup("an unclosed ``` fence") == "an unclosed  fence"
