"""Every number that decides answer / suggest / fallback, in one place.

Scores run from 0 to 100. An intent's score blends five signals (weights
below): how much of the question's meaningful words the closest phrasing
shares, weighted by how rare each word is across intents (so "budget" counts
more than "manager", and a word the knowledge has never seen, like
"weather", drags the score down); how closely the question's content words
resemble that phrasing's (rapidfuzz); how closely the whole question, word
order included, resembles it; what share of the question the intent's
vocabulary explains; and how likely a classifier learned from all the
phrasings at once finds the intent (classifier.py), which knows which words
tell close intents apart. Changing a number here changes the bot's behaviour
everywhere: run `make eval` (the held-out and blind sets in bench/eval/)
before and after, never dev.yaml alone; choose on bench/eval/tuning.yaml.
"""

from __future__ import annotations

# Blend of the signals (sum to 1).
WEIGHT_OVERLAP = 0.21  # IDF-weighted cosine between the question and the best phrasing
WEIGHT_WORDING = 0.14  # rapidfuzz ratio of the question's content words (sorted) vs the phrasing's
WEIGHT_SHAPE = 0.21  # rapidfuzz ratio of the whole normalised question, word order and small words included
WEIGHT_COVERAGE = 0.14  # share of the question's word weight that the intent's vocabulary explains
WEIGHT_LEARNED = 0.30  # the classifier's probability (classifier.py), times the share of words it knows

# Taken off an intent whose phrasings are about another role than the one the
# question names (e.g. a product-manager-only intent for a project manager question).
ROLE_MISMATCH_PENALTY = 0.21

# At or above this the bot answers, if the runner-up is far enough behind.
ANSWER_SCORE = 52.0
# A question the classifier is all but sure is about pmbot's topics is answered from this lower
# score: its off-topic probability is at most ON_TOPIC_DOUBT and the knowledge knows at least
# ON_TOPIC_READ of its word weight. Indirect wording ("the one who runs our delivery keeps…")
# resembles no phrasing closely but is placed by the classifier; off-topic chat rarely passes both.
ANSWER_SCORE_ON_TOPIC = 40.0
ON_TOPIC_DOUBT = 0.05
ON_TOPIC_READ = 0.8
# The best intent must beat the best *other* intent by this much to be answered;
# closer than that the question is ambiguous and the bot asks "Did you mean…".
# The knowledge's off-topic examples count as an other intent here: a message
# nearly as close to "not about our topics" as to an answer is not answered.
ANSWER_MARGIN = 6.0
# A question whose known words say less than this is never answered outright, however
# well it scores: a lone common word ("can", "do it") is not a question. The unit is
# one word of the rarest kind (a word only one intent uses); "can" is worth about 0.36.
# A question that is word for word one of the knowledge's phrasings ("help") is exempt.
MIN_INFORMATION = 0.6
# An ambiguous word ("PM") is read each way; one reading may answer alone only if
# every reading that leads elsewhere scores at least this much less: else it is a guess.
READING_MARGIN = 8.0
# From here up to an answer, the bot offers "Did you mean…" suggestions.
SUGGEST_SCORE = 45.0
# …and from this lower score when the classifier is all but sure the question is on topic
# (see ANSWER_SCORE_ON_TOPIC): "Did you mean…" with the right intent beats "I don't know".
SUGGEST_SCORE_ON_TOPIC = 35.0
# Suggestions are intents scoring within this distance of the best one.
SUGGEST_WINDOW = 12.0
MAX_SUGGESTIONS = 3

# A word the knowledge has never seen weighs as much as the rarest known word
# times this: off-topic messages are mostly made of such words.
UNKNOWN_WORD_WEIGHT = 1.0

# A word counts fully towards an intent's vocabulary once this many of its phrasings use it.
VOCAB_FULL_AT = 1

# Long messages: each sentence is also matched on its own, so a question
# buried in a paragraph of context is still found.
SENTENCE_SPLIT_MIN_WORDS = 12
MAX_SENTENCES = 6  # windows (a sentence, or it with the one or two before) tried at most

# --- fitted by bench/fit_decision.py: re-run it after a large knowledge edit, do not edit by hand ---
# Logistic-regression weights over decision.Signals: how much each signal raises (or, negative, lowers)
# the log-odds that an intent is the right answer. BLEND_LEXICAL applies when the embedding model is off.
BLEND_SEMANTIC = {}
BLEND_LEXICAL = {}
ANSWER_PROBABILITY = 0.8
SUGGEST_PROBABILITY = 0.3
ANSWER_PROBABILITY_LEXICAL = 0.8
SUGGEST_PROBABILITY_LEXICAL = 0.3
# --- end of fitted numbers ---
