"""Matching: normalisation, scoring and the answer / suggest / fallback decision."""

from bot.matching.matcher import SMALL_TALK, Candidate, Kind, Matcher, MatchResult

__all__ = ["SMALL_TALK", "Candidate", "Kind", "MatchResult", "Matcher"]
