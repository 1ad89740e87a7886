"""Matching: normalisation, scoring and the answer / suggest / fallback decision."""

from bot.matching.matcher import Candidate, Kind, Matcher, MatchResult

__all__ = ["Candidate", "Kind", "MatchResult", "Matcher"]
