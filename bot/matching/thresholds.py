"""Every number that decides answer / suggest / fallback, in one place.

Two layers. The word-level score (0-100) blends five signals (weights below):
how much of the question's meaningful words the closest phrasing shares,
weighted by how rare each word is across intents (so "budget" counts more than
"manager", and a word the knowledge has never seen, like "weather", drags the
score down); how closely the question's content words resemble that phrasing's
(rapidfuzz); how closely the whole question, word order included, resembles it;
what share of the question the intent's vocabulary explains; and how likely a
classifier learned from all the phrasings at once finds the intent
(classifier.py), which knows which words tell close intents apart.

Then the decision (decision.py): a logistic regression over that score, its lead
over the runner-up, the classifier's view, the sentence embedding's cosine to the
intent's nearest phrasing and its lead, how close the question comes to the
knowledge's off-topic examples, the meaning classifier's probability for the
intent and for off topic (meaning.py), and how many of the views put the intent
first, gives the chance that an intent is the right answer. Its weights and the
two thresholds at the bottom of this file are fitted by bench/fit_decision.py on
the tuning sets (the real ones among them: real-tune and the shared real-dev);
re-run it after a large knowledge edit, then `make eval` (the held-out and blind
sets in bench/eval/ above all), never dev.yaml alone.
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
# A question naming one role word only is never answered outright by an intent whose phrasings never name
# it, if at least this share of them name another: "Is Scrum Master and product manager same?" got the
# answer about the scrum master and the project manager (matcher._other_role).
OTHER_ROLE_SHARE = 0.5

# A question whose known words say less than this is never answered outright, however
# well it scores: a lone common word ("can", "do it") is not a question. The unit is
# one word of the rarest kind (a word only one intent uses); with 63 intents "can" is worth
# about 0.33, "manager" 0.24, and "what is a product manager" 0.53, which must be answered.
# A question that is word for word one of the knowledge's phrasings ("help") is exempt, and the floor
# never rises above what a role's name says ("project manager" 0.498 on 5 December 2026: matcher.min_information).
MIN_INFORMATION = 0.5
# An ambiguous word ("PM") is read each way; one reading may answer alone only if every
# reading that leads elsewhere is at least this many points (of %) less sure, and the question
# as written puts the same intent first (matcher._match_ambiguous): else it is a guess.
READING_MARGIN = 8.0
MAX_SUGGESTIONS = 3  # "Did you mean…" offers at most this many intents

# A message of one part (question_finder.py) is read by the model only when its words alone (the words-only rule,
# BLEND_LEXICAL) give some intent at least this chance. Below it, on 17,045 messages of every eval set (6 December
# 2026), the model never made an answer of one: it offered 20 chat lines a "Did you mean…" and no question. That is
# 38% of those messages, nearly all chat, and a model run is 4-5 ms of a short message's 6 (CPU): a server's chat
# costs about a third less to hear. At 0.5% two greetings would lose their answer.
MODEL_READS_FROM = 0.001

# A word the knowledge has never seen weighs as much as the rarest known word
# times this: off-topic messages are mostly made of such words.
UNKNOWN_WORD_WEIGHT = 1.0

# A word counts fully towards an intent's vocabulary once this many of its phrasings use it.
VOCAB_FULL_AT = 1

# --- fitted by bench/fit_decision.py: re-run it after a large knowledge edit, do not edit by hand ---
# Logistic-regression weights over decision.Signals: how much each signal raises (or, negative, lowers)
# the log-odds that an intent is the right answer. BLEND_LEXICAL applies when the embedding model is off.
BLEND_SEMANTIC = {"bias": -3.951, "lexical": 1.660, "lexical_lead": 6.223, "learned": 0.223, "off_topic": -0.135,
                  "read": -0.256, "off_topic_lexical": 0.102, "similarity": 5.503,
                  "similarity_lead": 7.470, "off_topic_similarity": -4.668, "meaning": 2.365,
                  "meaning_off_topic": -1.442, "agreement": 0.580}
BLEND_LEXICAL = {"bias": -2.201, "lexical": 3.989, "lexical_lead": 10.322, "learned": 0.932, "off_topic": -2.278,
                 "read": -1.293, "off_topic_lexical": 0.105}
# The chance of being right from which the bot answers, and from which it offers "Did you mean…"
# (the _LEXICAL pair when the embedding model is off).
ANSWER_PROBABILITY = 0.61
SUGGEST_PROBABILITY = 0.10
ANSWER_PROBABILITY_LEXICAL = 0.59
SUGGEST_PROBABILITY_LEXICAL = 0.10
# --- end of fitted numbers ---
