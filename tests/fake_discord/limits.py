"""Discord payload limit checks, applied by the fake server to every outgoing payload.

Real Discord rejects oversize payloads with HTTP 400 (code 50035 "Invalid Form Body").
Catching these in tests matters because discord.py validates almost none of them
client-side, so a long FAQ answer only fails in production.

Besides the documented size limits this module enforces a project policy: a payload
that could ping someone (mention syntax in content or embeds, or a reply) must carry
``allowed_mentions`` that allows no pings. Real Discord would not reject it - it would
ping - which is exactly why the fake treats it as an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Literal, Mapping, Optional, Sequence

MentionPolicy = Literal["detect", "always", "off"]
"""``detect``: require safe allowed_mentions when content/embeds contain mention syntax
(``@everyone``, ``@here``, ``<@id>``, ``<@!id>``, ``<@&id>``) or the message is a reply.
``always``: require it on every payload with content or embeds. ``off``: no check."""

MENTION_RE = re.compile(r"@(?:everyone|here)\b|<@[!&]?\d+>")

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_COMPONENTS_MAX = 5
BUTTON_LABEL_MAX = 80
CUSTOM_ID_MAX = 100
SELECT_OPTIONS_MAX = 25
SELECT_OPTION_TEXT_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
AUTOCOMPLETE_CHOICES_MAX = 25
CHOICE_TEXT_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_VALUE_MAX = 4000
V2_COMPONENTS_MAX = 40
V2_TEXT_MAX = 4000

SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
BUTTON = 2
ACTION_ROW = 1
TEXT_INPUT = 4
FLAG_IS_COMPONENTS_V2 = 1 << 15

# Interaction response types allowed per interaction type (discord.enums.InteractionType).
_ALLOWED_RESPONSES: Mapping[int, frozenset[int]] = {
    1: frozenset({1}),
    2: frozenset({4, 5, 9, 12}),
    3: frozenset({4, 5, 6, 7, 9, 12}),
    4: frozenset({8}),
    5: frozenset({4, 5, 6, 7}),
}


@dataclass(frozen=True)
class LimitError:
    """One rejected field. ``path`` is dotted like Discord's error tree ("embeds.0.title")."""

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.code}]"


def _max_len(path: str, value: Any, limit: int) -> list[LimitError]:
    if isinstance(value, str) and len(value) > limit:
        return [LimitError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length (got {len(value)}).")]
    return []


def _len_range(path: str, value: Any, lo: int, hi: int, *, required: bool = True) -> list[LimitError]:
    if value is None:
        return [LimitError(path, "BASE_TYPE_REQUIRED", "This field is required")] if required else []
    if not isinstance(value, str):
        return [LimitError(path, "BASE_TYPE_STRING", "Must be a string.")]
    if len(value) < lo:
        return [LimitError(path, "BASE_TYPE_MIN_LENGTH", f"Must be {lo} or more in length.")]
    return _max_len(path, value, hi)


def _list_max(path: str, value: Any, limit: int) -> list[LimitError]:
    if isinstance(value, list) and len(value) > limit:
        return [LimitError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length (got {len(value)}).")]
    return []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def embed_size(embed: Mapping[str, Any]) -> int:
    """Characters counted toward the 6000 total (title, description, fields, footer, author)."""
    total = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    for f in embed.get("fields") or []:
        total += len(_text(f.get("name"))) + len(_text(f.get("value")))
    total += len(_text((embed.get("footer") or {}).get("text")))
    total += len(_text((embed.get("author") or {}).get("name")))
    return total


def check_embeds(embeds: Any, prefix: str = "embeds") -> list[LimitError]:
    """Per-embed limits plus the 10-embed and 6000-character totals."""
    if embeds is None:
        return []
    if not isinstance(embeds, list):
        return [LimitError(prefix, "BASE_TYPE_ARRAY", "Must be an array.")]
    errors = _list_max(prefix, embeds, EMBEDS_MAX)
    total = 0
    for i, e in enumerate(embeds):
        p = f"{prefix}.{i}"
        if not isinstance(e, Mapping):
            errors.append(LimitError(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
            continue
        total += embed_size(e)
        errors += _max_len(f"{p}.title", e.get("title"), EMBED_TITLE_MAX)
        errors += _max_len(f"{p}.description", e.get("description"), EMBED_DESCRIPTION_MAX)
        fields = e.get("fields") or []
        errors += _list_max(f"{p}.fields", fields, EMBED_FIELDS_MAX)
        for j, f in enumerate(fields):
            errors += _len_range(f"{p}.fields.{j}.name", f.get("name"), 1, EMBED_FIELD_NAME_MAX)
            errors += _len_range(f"{p}.fields.{j}.value", f.get("value"), 1, EMBED_FIELD_VALUE_MAX)
        if e.get("footer") is not None:
            errors += _len_range(f"{p}.footer.text", e["footer"].get("text"), 1, EMBED_FOOTER_MAX)
        if e.get("author") is not None:
            errors += _len_range(f"{p}.author.name", e["author"].get("name"), 1, EMBED_AUTHOR_MAX)
    if total > EMBED_TOTAL_MAX:
        errors.append(
            LimitError(prefix, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX} (got {total}).")
        )
    return errors


def _check_button(p: str, c: Mapping[str, Any]) -> list[LimitError]:
    errors = _max_len(f"{p}.label", c.get("label"), BUTTON_LABEL_MAX)
    style = c.get("style")
    if style == 5:
        if not c.get("url"):
            errors.append(LimitError(f"{p}.url", "BASE_TYPE_REQUIRED", "Link buttons need a url"))
        if c.get("custom_id") is not None:
            errors.append(LimitError(f"{p}.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED", "Link buttons cannot have a custom_id"))
    elif style == 6:
        if not c.get("sku_id"):
            errors.append(LimitError(f"{p}.sku_id", "BASE_TYPE_REQUIRED", "Premium buttons need a sku_id"))
    else:
        errors += _len_range(f"{p}.custom_id", c.get("custom_id"), 1, CUSTOM_ID_MAX)
    if style != 6 and not c.get("label") and not c.get("emoji"):
        errors.append(LimitError(p, "BUTTON_COMPONENT_INVALID", "A button needs a label or an emoji"))
    return errors


def _check_select(p: str, c: Mapping[str, Any]) -> list[LimitError]:
    errors = _len_range(f"{p}.custom_id", c.get("custom_id"), 1, CUSTOM_ID_MAX)
    errors += _max_len(f"{p}.placeholder", c.get("placeholder"), SELECT_PLACEHOLDER_MAX)
    lo, hi = c.get("min_values", 1), c.get("max_values", 1)
    if not (0 <= lo <= 25):
        errors.append(LimitError(f"{p}.min_values", "NUMBER_TYPE_MAX", "min_values must be between 0 and 25"))
    if not (1 <= hi <= 25):
        errors.append(LimitError(f"{p}.max_values", "NUMBER_TYPE_MAX", "max_values must be between 1 and 25"))
    if lo > hi:
        errors.append(LimitError(f"{p}.min_values", "SELECT_COMPONENT_MIN_GREATER_THAN_MAX", "min_values > max_values"))
    if c.get("type") == 3:
        options = c.get("options") or []
        if not options:
            errors.append(LimitError(f"{p}.options", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."))
        errors += _list_max(f"{p}.options", options, SELECT_OPTIONS_MAX)
        if options and hi > len(options):
            errors.append(LimitError(f"{p}.max_values", "SELECT_COMPONENT_MAX_VALUES_TOO_HIGH", "max_values exceeds the number of options"))
        for k, o in enumerate(options):
            errors += _len_range(f"{p}.options.{k}.label", o.get("label"), 1, SELECT_OPTION_TEXT_MAX)
            errors += _len_range(f"{p}.options.{k}.value", o.get("value"), 1, SELECT_OPTION_TEXT_MAX)
            errors += _max_len(f"{p}.options.{k}.description", o.get("description"), SELECT_OPTION_TEXT_MAX)
        values = [o.get("value") for o in options]
        if len(values) != len(set(values)):
            errors.append(LimitError(f"{p}.options", "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED", "Option values must be unique"))
    return errors


def _check_text_input(p: str, c: Mapping[str, Any], *, label_required: bool) -> list[LimitError]:
    errors = _len_range(f"{p}.custom_id", c.get("custom_id"), 1, CUSTOM_ID_MAX)
    errors += _len_range(f"{p}.label", c.get("label"), 1, TEXT_INPUT_LABEL_MAX, required=label_required)
    errors += _max_len(f"{p}.value", c.get("value"), TEXT_INPUT_VALUE_MAX)
    errors += _max_len(f"{p}.placeholder", c.get("placeholder"), 100)
    return errors


def _walk(components: Sequence[Any], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (path, component) for every component, descending into rows/containers/sections/labels."""
    for i, c in enumerate(components):
        if not isinstance(c, Mapping):
            continue
        p = f"{prefix}.{i}"
        yield p, c
        if isinstance(c.get("components"), list):
            yield from _walk(c["components"], f"{p}.components")
        for key in ("accessory", "component"):
            if isinstance(c.get(key), Mapping):
                yield f"{p}.{key}", c[key]
                if isinstance(c[key].get("components"), list):
                    yield from _walk(c[key]["components"], f"{p}.{key}.components")


def check_components(components: Any, *, v2: bool = False, prefix: str = "components") -> list[LimitError]:
    """Action-row layout (legacy) or components-v2 totals, plus button/select/custom_id rules."""
    if components is None:
        return []
    if not isinstance(components, list):
        return [LimitError(prefix, "BASE_TYPE_ARRAY", "Must be an array.")]
    errors: list[LimitError] = []
    if not v2:
        errors += _list_max(prefix, components, ACTION_ROWS_MAX)
        for i, row in enumerate(components):
            p = f"{prefix}.{i}"
            if not isinstance(row, Mapping) or row.get("type") != ACTION_ROW:
                errors.append(LimitError(f"{p}.type", "COMPONENT_LAYOUT_INVALID", "Top-level components must be action rows (type 1)"))
                continue
            children = row.get("components") or []
            if not children:
                errors.append(LimitError(f"{p}.components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."))
            errors += _list_max(f"{p}.components", children, ROW_COMPONENTS_MAX)
            if any(isinstance(ch, Mapping) and ch.get("type") in SELECT_TYPES for ch in children) and len(children) > 1:
                errors.append(LimitError(f"{p}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A select menu must be alone in its action row"))
    all_items = list(_walk(components, prefix))
    if v2:
        if len(all_items) > V2_COMPONENTS_MAX:
            errors.append(LimitError(prefix, "BASE_TYPE_MAX_LENGTH", f"Must be {V2_COMPONENTS_MAX} or fewer components in total."))
        text_total = sum(len(_text(c.get("content"))) for _, c in all_items if c.get("type") == 10)
        if text_total > V2_TEXT_MAX:
            errors.append(LimitError(prefix, "BASE_TYPE_MAX_LENGTH", f"Text displays total must be {V2_TEXT_MAX} or fewer (got {text_total})."))
    seen: dict[str, str] = {}
    for p, c in all_items:
        ctype = c.get("type")
        if ctype == BUTTON:
            errors += _check_button(p, c)
        elif ctype in SELECT_TYPES:
            errors += _check_select(p, c)
        elif ctype == ACTION_ROW and v2:
            errors += _list_max(f"{p}.components", c.get("components") or [], ROW_COMPONENTS_MAX)
        cid = c.get("custom_id")
        if isinstance(cid, str):
            if cid in seen:
                errors.append(LimitError(f"{p}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", f"Component custom id {cid!r} is duplicated (also at {seen[cid]})"))
            seen[cid] = p
    return errors


def mention_text(payload: Mapping[str, Any]) -> str:
    """All text in content and embeds that could carry mention syntax."""
    parts = [_text(payload.get("content"))]
    for e in payload.get("embeds") or []:
        if not isinstance(e, Mapping):
            continue
        parts += [_text(e.get("title")), _text(e.get("description"))]
        parts += [_text(f.get("name")) + "\n" + _text(f.get("value")) for f in e.get("fields") or []]
        parts += [_text((e.get("footer") or {}).get("text")), _text((e.get("author") or {}).get("name"))]
    return "\n".join(parts)


def check_allowed_mentions(payload: Mapping[str, Any], *, policy: MentionPolicy = "detect", prefix: str = "") -> list[LimitError]:
    """Require ``allowed_mentions`` that pings nobody whenever the payload could ping."""
    if policy == "off":
        return []
    p = f"{prefix}allowed_mentions"
    is_reply = payload.get("message_reference") is not None
    has_text = bool(_text(payload.get("content")).strip() or payload.get("embeds"))
    found = MENTION_RE.findall(mention_text(payload))
    if not (is_reply or found or (policy == "always" and has_text)):
        return []
    why = f"mention syntax {found[:3]}" if found else ("a reply" if is_reply else "content/embeds")
    am = payload.get("allowed_mentions")
    if not isinstance(am, Mapping):
        return [LimitError(p, "ALLOWED_MENTIONS_MISSING", f"Payload with {why} has no allowed_mentions; use AllowedMentions.none()")]
    errors: list[LimitError] = []
    parse = am.get("parse") or []
    if parse:
        errors.append(LimitError(f"{p}.parse", "ALLOWED_MENTIONS_PINGS", f"allowed_mentions.parse must be empty, got {parse} ({why})"))
    for key in ("users", "roles"):
        if am.get(key):
            errors.append(LimitError(f"{p}.{key}", "ALLOWED_MENTIONS_PINGS", f"allowed_mentions.{key} must be empty, got {am[key]}"))
    if is_reply and am.get("replied_user"):
        errors.append(LimitError(f"{p}.replied_user", "ALLOWED_MENTIONS_PINGS", "replied_user=True pings the replied-to author"))
    return errors


def is_empty_message(payload: Mapping[str, Any], *, file_count: int = 0) -> bool:
    """Discord's 50006 rule: no (non-blank) content, embeds, components, files, stickers or poll."""
    return not (
        _text(payload.get("content")).strip()
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("sticker_ids")
        or payload.get("poll")
        or file_count
        or any(isinstance(a, Mapping) and "id" in a for a in payload.get("attachments") or [])
    )


def check_message(
    payload: Any,
    *,
    creating: bool = True,
    file_count: int = 0,
    mention_policy: MentionPolicy = "detect",
    prefix: str = "",
) -> list[LimitError]:
    """Validate a message create/edit payload (channel message, interaction data, webhook)."""
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        return [LimitError(prefix.rstrip(".") or "body", "MODEL_TYPE_CONVERT", "Body must be a JSON object")]
    errors: list[LimitError] = []
    v2 = bool(int(payload.get("flags") or 0) & FLAG_IS_COMPONENTS_V2)
    content = payload.get("content")
    if v2:
        if content:
            errors.append(LimitError(f"{prefix}content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2", "content is not allowed with IS_COMPONENTS_V2"))
        if payload.get("embeds"):
            errors.append(LimitError(f"{prefix}embeds", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2", "embeds are not allowed with IS_COMPONENTS_V2"))
    else:
        errors += _max_len(f"{prefix}content", content, CONTENT_MAX)
    errors += check_embeds(payload.get("embeds"), f"{prefix}embeds")
    errors += check_components(payload.get("components"), v2=v2, prefix=f"{prefix}components")
    errors += check_allowed_mentions(payload, policy=mention_policy, prefix=prefix)
    if creating and is_empty_message(payload, file_count=file_count):
        errors.append(LimitError(prefix.rstrip(".") or "content", "EMPTY_MESSAGE", "Cannot send an empty message"))
    return errors


def check_autocomplete(data: Any, prefix: str = "data.") -> list[LimitError]:
    """Autocomplete result: at most 25 choices, name 1-100 chars, string value <= 100 chars."""
    if not isinstance(data, Mapping):
        return [LimitError(f"{prefix}choices", "BASE_TYPE_REQUIRED", "This field is required")]
    choices = data.get("choices")
    if not isinstance(choices, list):
        return [LimitError(f"{prefix}choices", "BASE_TYPE_REQUIRED", "This field is required")]
    errors = _list_max(f"{prefix}choices", choices, AUTOCOMPLETE_CHOICES_MAX)
    for i, ch in enumerate(choices):
        errors += _len_range(f"{prefix}choices.{i}.name", ch.get("name"), 1, CHOICE_TEXT_MAX)
        value = ch.get("value")
        if value is None:
            errors.append(LimitError(f"{prefix}choices.{i}.value", "BASE_TYPE_REQUIRED", "This field is required"))
        errors += _max_len(f"{prefix}choices.{i}.value", value, CHOICE_TEXT_MAX)
    return errors


def check_modal(data: Any, prefix: str = "data.") -> list[LimitError]:
    """Modal: title 1-45, custom_id 1-100, 1-5 top-level rows/labels, text-input limits."""
    if not isinstance(data, Mapping):
        return [LimitError(prefix.rstrip("."), "BASE_TYPE_REQUIRED", "This field is required")]
    errors = _len_range(f"{prefix}title", data.get("title"), 1, MODAL_TITLE_MAX)
    errors += _len_range(f"{prefix}custom_id", data.get("custom_id"), 1, CUSTOM_ID_MAX)
    comps = data.get("components") or []
    if not comps:
        errors.append(LimitError(f"{prefix}components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."))
    errors += _list_max(f"{prefix}components", comps, MODAL_COMPONENTS_MAX)
    for p, c in _walk(comps, f"{prefix}components"):
        if c.get("type") == 18:
            errors += _len_range(f"{p}.label", c.get("label"), 1, TEXT_INPUT_LABEL_MAX)
            errors += _max_len(f"{p}.description", c.get("description"), 100)
        elif c.get("type") == TEXT_INPUT:
            errors += _check_text_input(p, c, label_required=not p.endswith(".component"))
        elif c.get("type") in SELECT_TYPES:
            errors += _check_select(p, c)
    return errors


def check_interaction_callback(
    body: Any,
    *,
    interaction_type: Optional[int] = None,
    file_count: int = 0,
    mention_policy: MentionPolicy = "detect",
) -> list[LimitError]:
    """Validate ``POST /interactions/{id}/{token}/callback`` bodies by response type."""
    if not isinstance(body, Mapping) or "type" not in body:
        return [LimitError("type", "BASE_TYPE_REQUIRED", "This field is required")]
    rtype = body["type"]
    errors: list[LimitError] = []
    if interaction_type is not None and rtype not in _ALLOWED_RESPONSES.get(interaction_type, frozenset()):
        errors.append(
            LimitError("type", "INTERACTION_RESPONSE_TYPE_INVALID", f"Response type {rtype} is not valid for interaction type {interaction_type}")
        )
    data = body.get("data")
    if rtype == 4:
        errors += check_message(data, creating=True, file_count=file_count, mention_policy=mention_policy, prefix="data.")
    elif rtype == 7:
        errors += check_message(data, creating=False, file_count=file_count, mention_policy=mention_policy, prefix="data.")
    elif rtype == 8:
        errors += check_autocomplete(data)
    elif rtype == 9:
        errors += check_modal(data)
    return errors


def to_discord_error(errors: Iterable[LimitError]) -> dict[str, Any]:
    """Discord's 400 body: nested ``errors`` tree with ``_errors`` leaves (see discord.errors._flatten_error_dict)."""
    errors = list(errors)
    if errors and all(e.code == "EMPTY_MESSAGE" for e in errors):
        return {"code": 50006, "message": "Cannot send an empty message"}
    tree: dict[str, Any] = {}
    for e in errors:
        node = tree
        for part in e.path.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": e.code, "message": e.message})
    return {"code": 50035, "message": "Invalid Form Body", "errors": tree}


COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)
COMMANDS_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_TOTAL_CHARS_MAX = 4000


def _command_chars(obj: Mapping[str, Any]) -> int:
    total = len(_text(obj.get("name"))) + len(_text(obj.get("description")))
    for c in obj.get("choices") or []:
        total += len(_text(c.get("name"))) + len(str(c.get("value", "")))
    for o in obj.get("options") or []:
        total += _command_chars(o)
    return total


def _check_command_options(options: Any, p: str) -> list[LimitError]:
    errors = _list_max(p, options, COMMAND_OPTIONS_MAX)
    seen_optional = False
    names: set[str] = set()
    for i, o in enumerate(options or []):
        q = f"{p}.{i}"
        name = o.get("name")
        if not isinstance(name, str) or not COMMAND_NAME_RE.match(name) or name != name.lower():
            errors.append(LimitError(f"{q}.name", "APPLICATION_COMMAND_INVALID_NAME", f"Invalid option name {name!r}"))
        if name in names:
            errors.append(LimitError(f"{q}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", f"Duplicate option {name!r}"))
        names.add(name)
        errors += _len_range(f"{q}.description", o.get("description"), 1, 100)
        errors += _list_max(f"{q}.choices", o.get("choices"), 25)
        for k, c in enumerate(o.get("choices") or []):
            errors += _len_range(f"{q}.choices.{k}.name", c.get("name"), 1, CHOICE_TEXT_MAX)
            errors += _max_len(f"{q}.choices.{k}.value", c.get("value"), CHOICE_TEXT_MAX)
        if o.get("autocomplete") and o.get("choices"):
            errors.append(LimitError(f"{q}.autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_REQUIRES_NO_CHOICES", "autocomplete cannot be used with choices"))
        if o.get("type") in (1, 2):
            errors += _check_command_options(o.get("options") or [], f"{q}.options")
            continue
        if o.get("required"):
            if seen_optional:
                errors.append(LimitError(f"{q}.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options"))
        else:
            seen_optional = True
    return errors


def check_commands(commands: Any) -> list[LimitError]:
    """Bulk command registration: names, descriptions, option order/counts, 4000-char total."""
    if not isinstance(commands, list):
        return [LimitError("body", "BASE_TYPE_ARRAY", "Must be an array.")]
    errors = _list_max("body", commands, COMMANDS_MAX)
    seen: set[tuple[Any, Any]] = set()
    for i, c in enumerate(commands):
        errors += check_command(c, prefix=f"{i}.")
        key = (c.get("name"), c.get("type", 1))
        if key in seen:
            errors.append(LimitError(f"{i}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Application command names must be unique: {key[0]!r}"))
        seen.add(key)
    return errors


def check_command(c: Any, *, prefix: str = "") -> list[LimitError]:
    """One application command definition."""
    if not isinstance(c, Mapping):
        return [LimitError(prefix.rstrip(".") or "body", "MODEL_TYPE_CONVERT", "Must be an object")]
    ctype = c.get("type", 1)
    name = c.get("name")
    errors: list[LimitError] = []
    if ctype == 1:
        if not isinstance(name, str) or not COMMAND_NAME_RE.match(name) or name != name.lower():
            errors.append(LimitError(f"{prefix}name", "APPLICATION_COMMAND_INVALID_NAME", f"Invalid command name {name!r}"))
        errors += _len_range(f"{prefix}description", c.get("description"), 1, 100)
        errors += _check_command_options(c.get("options") or [], f"{prefix}options")
    else:
        errors += _len_range(f"{prefix}name", name, 1, 32)
    total = _command_chars(c)
    if total > COMMAND_TOTAL_CHARS_MAX:
        errors.append(LimitError(f"{prefix}name", "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({total} > {COMMAND_TOTAL_CHARS_MAX})"))
    return errors
