"""Recognising boilerplate lines of news pages: navigation, prompts, captions, bylines, notes.

General patterns (no site's own strings), shared by the plain-text and the HTML cleaners.
"""

from __future__ import annotations

import itertools
import re

# A line this long is prose even if it mentions a boilerplate word.
MAX_BOILERPLATE_WORDS = 40
_WORD = re.compile(r"\w+")

_MONTHS = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t|tember)?"
    r"|oct(ober)?|nov(ember)?|dec(ember)?"
)
_SOCIAL = r"facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|email|e-mail|print|copy link"

# Whole-line patterns: the line is nothing but a navigation label or a prompt.
_WHOLE_LINE = re.compile(
    r"^("
    r"menu|close|menu close|open menu|main menu|navigation|toggle navigation|skip to \w+( \w+)?"
    r"|search|home|sections|more|show more|load more|back to top|top|next|previous|prev"
    r"|share|shares?:?|tweet|like|comment|comments|reply|print|email|save|bookmark"
    r"|advertisement|advertising|sponsored|sponsored content|promoted|ad|ads|paid content"
    r"|related|related (articles|stories|posts|content|news|links|topics)|trending( now)?"
    r"|most (read|popular|viewed|shared)|popular|latest|latest news|recommended( for you)?"
    r"|you (may|might) also like|more (stories|news|from \w+( \w+)?)|read (more|next)"
    r"|don'?t miss|also read|see also|further reading|in case you missed it"
    r"|tags?|topics?|categories|filed under|log ?in|sign ?in|sign ?up|register|subscribe"
    r"|(" + _SOCIAL + r")([\s,|/·•]+(" + _SOCIAL + r"))*"
    r"|(view|show|read|see)?\s*(all\s+)?[\d.,]+\s*[km]?\s*(comments?|shares?|views?|replies|reactions|likes)"
    r"|(comments?|replies|reactions)\s*\(?[\d.,]+[km]?\)?"
    r"|advertisement\W*(continue reading|story continues|article continues)( below)?"
    r"|(story|article) continues (below|after)( (this )?(advertisement|ad))?"
    r"|(follow\s+)?@\w{1,30}(\s+on\s+(twitter|x|instagram|tiktok|threads|bluesky))?"
    r"|(twitter|x|instagram|tiktok|threads|facebook|bluesky)\s*:\s*@?\w{1,30}"
    r")[\s:.!|»›>-]*$",
    re.IGNORECASE,
)

# Labels that open a photo caption or credit, however long the caption is.
_CAPTION_LABEL = re.compile(
    r"^((picture|photo|photograph|image|pic|foto|video|illustration|graphic)s?"
    r"( credit| caption)?\s*[:|/]"
    r"|(image|media|photo|picture|video) caption\b"
    r"|\(?(photo|image|picture)s? (credit|courtesy|by)\b|credits?\s*:)",
    re.IGNORECASE,
)

# Line openings that announce a non-body element.
_OPENING = re.compile(
    r"^("
    r"this (article|story|post|piece|report) (was|is|has been|first|originally)\b"
    r"|(originally|first) (published|appeared|posted)\b"
    r"|source\s*:|sources\s*:|via\s*:"
    r"|(related|read more|read also|also read|see more|more|recommended|watch|listen|see also"
    r"|related (articles|stories|posts|coverage|content)|trending|popular|don'?t miss"
    r"|more on this|more from)\s*[:|»›>]"
    r"|share (this|on|the|via)\b|share\s*:"
    r"|follow (us|him|her|me|them)\b"
    r"|(tags?|topics?|categories|filed under|posted in|keywords)\s*:"
    r"|(click|tap) here\b"
    r"|(sign|log) (up|in)\b"
    r"|have a (news )?tip\b"
    r"|(leave|post|add|view|show) (a |the |all )?(comments?|reply)\b"
    r"|tell us what you think"
    r")",
    re.IGNORECASE,
)

# Phrases that mark prompts, legal lines and credits anywhere in a short line.
_ANYWHERE = re.compile(
    r"("
    r"\b(subscribe|subscription|newsletters?|unsubscribe|your inbox|sign up for)\b"
    r"|\bcookies?\b.*\b(use|accept|consent|policy|settings|continu\w*|agree)\b"
    r"|\b(use|accept|consent|policy|settings|agree)\b.*\bcookies?\b"
    r"|©|\(c\)\s*\d{4}|\bcopyright\s*(©|\d{4})|all rights reserved"
    r"|\b(privacy policy|terms of (use|service)|terms and conditions|contact us|about us)\b"
    r"|\bshare this (article|story|post|page)\b"
    r"|\bfollow (us|him|her|me|them) on\b|\bon (twitter|facebook|instagram) @"
    r"|\b(getty images|shutterstock|ap photo|afp photo|reuters/|/ ?afp\b)"
    r"|\[(insight|video|pics|pictures|reaction|news|poll|latest|analysis|watch|live)\]"
    r"|\b(read|see) more\s*:"
    r"|\bdownload (our|the) app\b"
    r"|\bwhatsapp (group|channel)\b"
    r")",
    re.IGNORECASE,
)

# Openings that mark a byline or a stamp only when the line is short.
_SHORT_LINE_OPENING = re.compile(
    r"^(by\s+[\w.'’-]+(\s+[\w.'’-]+){0,5}"
    r"|(written|reported|posted|published|updated|edited)\s+(by|on|at)\b)",
    re.IGNORECASE,
)
MAX_SHORT_LINE_WORDS = 12

_DATE_OR_TIME = re.compile(
    r"\b(19|20)\d\d\b|\b\d{1,2}:\d\d\b|\b\d{1,2}\.\d\d\s*[ap]\.?m\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
    r"|\b(" + _MONTHS + r")\b\.?\s+\d{1,2}\b|\b\d{1,2}\s+(" + _MONTHS + r")\b"
    r"|\b(\d+ (minutes?|hours?|days?) ago|yesterday|today)\b",
    re.IGNORECASE,
)
_DATELINE_WORDS = re.compile(
    r"^(updated|published|posted|last (updated|modified)|created|date)\b", re.IGNORECASE
)
_SENTENCE_END_TAIL = 16
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")


def word_count(line: str, *, up_to: int | None = None) -> int:
    """Number of ``\\w+`` words of ``line``, counted no further than ``up_to`` (a bound keeps
    a megabyte-long line cheap where only "more than N" matters)."""
    return sum(1 for _ in itertools.islice(_WORD.finditer(line), up_to))


def ends_like_sentence(line: str) -> bool:
    """Whether ``line`` ends with sentence punctuation (possibly followed by quotes)."""
    return bool(_SENTENCE_END.search(line[-_SENTENCE_END_TAIL:]))


def is_boilerplate_line(line: str) -> bool:
    """Whether ``line`` is navigation, a prompt, a caption, a byline or a legal/source note."""
    stripped = line.strip().lstrip("-•*·–— ").strip()
    if _CAPTION_LABEL.match(stripped):
        return True
    if (
        not stripped
        or word_count(stripped, up_to=MAX_BOILERPLATE_WORDS + 1) > MAX_BOILERPLATE_WORDS
    ):
        return False
    if _WHOLE_LINE.match(stripped) or _OPENING.match(stripped):
        return True
    if word_count(stripped) <= MAX_SHORT_LINE_WORDS and _SHORT_LINE_OPENING.match(stripped):
        return True
    return bool(_ANYWHERE.search(stripped))


def is_dateline(line: str) -> bool:
    """Whether ``line`` is a short date, time or "Updated ..." stamp rather than prose."""
    words = word_count(line, up_to=15)
    if words == 0 or words > 14 or (ends_like_sentence(line) and words > 8):
        return False
    if _DATELINE_WORDS.match(line.strip()):
        return True
    matches = _DATE_OR_TIME.findall(line)
    return bool(matches) and words <= 10


_BYLINE = re.compile(r"^by\s+(?P<names>[^|,•·–—(]+)", re.IGNORECASE)


def byline_author(line: str) -> str | None:
    """The name(s) in a byline ("By Jane Doe, Reuters | 5 May" -> "Jane Doe"), else None."""
    match = _BYLINE.match(line.strip())
    if match is None or word_count(line) > MAX_SHORT_LINE_WORDS:
        return None
    names = match.group("names").strip(" .")
    if not names or _DATE_OR_TIME.search(names):
        return None
    return names
