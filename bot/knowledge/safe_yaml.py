"""Parses knowledge YAML that may be hostile, fast, keeping every value's line number.

Knowledge files arrive from Discord uploads and hand edits, so a file must
never be able to exhaust memory or the stack, whatever it holds:

* aliases (``*name``) are refused outright. Knowledge has no use for them, and
  refusing them is the only budget that stops both the "billion laughs"
  expansion and recursive aliases (``&a [*a]``) before anything is built;
* nesting deeper than :data:`MAX_DEPTH` is refused, because composing is
  recursive (in C with libyaml) and a 200 KB file of ``[`` would overflow the stack;
* NUL and other characters YAML forbids are reported on their real line,
  which neither PyYAML's reader (a byte offset) nor libyaml (it stops at NUL) does.

Both checks read the event stream first, which libyaml produces without
recursion; that costs a fraction of composing. ``yaml.CSafeLoader`` is used
where PyYAML was built with libyaml (about 20 times faster than the pure
Python loader, which is the fallback); both give the same marks.
"""

from __future__ import annotations

import re

import yaml

Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 32  # knowledge needs 5 levels (file → intents → intent → phrasings → text)
_FORBIDDEN = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class UnsafeYaml(Exception):
    """Refused before composing: ``line`` (1-based) says where."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def compose(text: str) -> yaml.Node | None:
    """The document's node tree, or UnsafeYaml / yaml.YAMLError (with a mark) saying why not."""
    _refuse_forbidden_characters(text)
    depth = 0
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYaml(
                event.start_mark.line + 1,
                f"YAML alias '*{event.anchor}' is not allowed in knowledge files; write the value out in full",
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise UnsafeYaml(event.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.compose(text, Loader=Loader)


def _refuse_forbidden_characters(text: str) -> None:
    found = _FORBIDDEN.search(text)
    if found:
        char = found.group()
        what = "a NUL byte" if char == "\0" else f"the control character U+{ord(char):04X}"
        raise UnsafeYaml(text.count("\n", 0, found.start()) + 1, f"contains {what}, which YAML does not allow; delete it")


def error_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark else 1


def error_message(exc: yaml.YAMLError) -> str:
    """The one-line reason, without PyYAML's multi-line excerpt of the file."""
    return str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
