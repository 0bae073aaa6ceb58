"""Pseudonymised free text for the manager consulted about a case.

This module owns one job: rewriting case text so that it no longer identifies the pupil or
their contacts. It serves DfE golden rule 3, seek advice "without disclosing the identity of
the individual where possible": names (every part of them, initials too), the pupil's date of
birth, and any email address, phone number or UK postcode become placeholders, while the rest
of the text stays as written so that the advice can be sound.

Pure Python on purpose: it is the part most worth testing exhaustively, and it must behave
the same in a web request, a worker or a script. cases.context decides what goes through it.
"""

from __future__ import annotations

import gzip
import re
import sys
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from itertools import pairwise
from typing import overload

PUPIL = "[pupil]"
CONTACT = "[contact]"
DATE_OF_BIRTH = "[date of birth]"
EMAIL = "[email]"
PHONE = "[phone]"
POSTCODE = "[postcode]"

_PUPIL_ID = 0
_APOSTROPHES = frozenset("'\u2019")
_INITIAL_MARKS = _APOSTROPHES | {"."}
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SENTENCE_ENDS = frozenset("!?\u2026\u3002\uff01\uff1f")
# Skipped when looking back for the start of a sentence: quotes, brackets, list bullets.
_LEAD_INS = frozenset("\"'\u2018\u2019\u201c\u201d\u00ab\u00bb([{)]}-*\u2022\u2013\u2014")
# "Mrs. Demo" is not the start of a sentence, so "Demo" is still read as a name there.
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "fr", "sr", "jr", "st"})
# Letters that casefold and NFKD leave distinct but that staff often type without the mark.
_FOLD_EXTRA = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h",
                             "æ": "ae", "œ": "oe", "þ": "th"})

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}
# Postcode areas of the UK and Crown dependencies: the area list keeps "Y10 2nd" (a year
# group) or "KS2 1st" from being read as postcodes.
_POSTCODE_AREAS = (
    "AB|AL|BA|BB|BD|BF|BH|BL|BN|BR|BS|BT|BX|CA|CB|CF|CH|CM|CO|CR|CT|CV|CW|DA|DD|DE|DG|DH|DL|DN|"
    "DT|DY|EC|EH|EN|EX|FK|FY|GL|GU|GY|HA|HD|HG|HP|HR|HS|HU|HX|IG|IM|IP|IV|JE|KA|KT|KW|KY|LA|LD|"
    "LE|LL|LN|LS|LU|ME|MK|ML|NE|NG|NN|NP|NR|NW|OL|OX|PA|PE|PH|PL|PO|PR|RG|RH|RM|SA|SE|SG|SK|SL|"
    "SM|SN|SO|SP|SR|SS|ST|SW|SY|TA|TD|TF|TN|TQ|TR|TS|TW|UB|WA|WC|WD|WF|WN|WR|WS|WV|YO|ZE|"
    "B|E|G|L|M|N|S|W"
)


@dataclass(frozen=True)
class Identity:
    """Who must not be recognisable in the consultation view (golden rule 3)."""

    pupil_names: tuple[str, ...]
    contact_names: tuple[str, ...] = ()
    date_of_birth: date | None = None


@dataclass
class _Token:
    """A word that may be part of a name; whether it is masked depends on its neighbours."""

    start: int
    end: int
    index: int
    persons: frozenset[int]
    initial: bool
    ordinary: bool
    capitalised: bool
    shared: frozenset[int] = frozenset()  # persons the run up to this token can belong to
    possessive: bool = False
    sentence_start: bool = False


class Pseudonymiser:
    """Masks one case's identity in any number of strings.

    Built once per case so that the name tables are made once and every string of the page is
    masked consistently; each call is a single linear scan with one compiled pattern.
    """

    def __init__(self, identity: Identity) -> None:
        self._date_of_birth = identity.date_of_birth
        self._parts: dict[str, set[int]] = {}
        self._initials: dict[str, set[int]] = {}
        self._initial_sequences: dict[int, tuple[str, ...]] = {}
        people = [identity.pupil_names, *((name,) for name in identity.contact_names)]
        for person, names in enumerate(people):
            self._learn(person, [name for name in names if isinstance(name, str)])

    @overload
    def __call__(self, text: str) -> str: ...
    @overload
    def __call__(self, text: None) -> None: ...
    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        spans: list[tuple[int, int, str]] = []
        run: list[_Token] = []
        for index, match in enumerate(_scanner().finditer(text)):
            kind, start, end = match.lastgroup, match.start(), match.end()
            if kind != "word":
                placeholder = self._special(kind, match)
                if placeholder:
                    spans.append((start, end, placeholder))
                continue
            word = match.group()
            if run and word in ("s", "S") and run[-1].index == index - 1 \
                    and text[run[-1].end:start] in _APOSTROPHES:
                run[-1].possessive = True
                continue
            token = self._token(word, start, end, index, marked=text[end:end + 1] in _INITIAL_MARKS)
            if token is None:
                continue
            if run and self._joins(text, run[-1], token):
                token.shared = run[-1].shared & token.persons
                run.append(token)
            else:
                self._close(text, run, spans)
                token.shared = token.persons
                run = [token]
        self._close(text, run, spans)
        return _apply(text, spans)

    def _learn(self, person: int, names: list[str]) -> None:
        sequence: list[str] = []
        for name in names:
            for chunk in name.split():
                tokens = [m.group() for m in _word_pattern().finditer(chunk)]
                if len(tokens) > 1:  # "O'Brien" also written "OBrien", "Lopez-Garcia" as one word
                    self._parts.setdefault(_fold("".join(tokens)), set()).add(person)
                for token in tokens:
                    key, first = _fold(token), _fold(token[0])
                    if not key:
                        continue
                    # A lone letter is too weak to mask on its own; it counts as an initial.
                    table = self._initials if _is_single_cased_letter(token) else self._parts
                    table.setdefault(key, set()).add(person)
                    if first:
                        self._initials.setdefault(first, set()).add(person)
                        sequence.append(first)
        self._initial_sequences[person] = tuple(sequence)

    def _token(self, word: str, start: int, end: int, index: int, *, marked: bool) -> _Token | None:
        """marked: a lowercase letter is an initial only when a dot or apostrophe says so ("a.m.", "o'brien")."""
        key = _fold(word)
        if key in self._parts:
            return _Token(start, end, index, frozenset(self._parts[key]), initial=False,
                          ordinary=key in _common_words(), capitalised=_capitalised(word))
        if key in self._initials and _is_single_cased_letter(word) and (word.isupper() or marked):
            return _Token(start, end, index, frozenset(self._initials[key]), initial=True,
                          ordinary=False, capitalised=True)
        return None

    @staticmethod
    def _joins(text: str, last: _Token, token: _Token) -> bool:
        if last.index != token.index - 1 or not last.shared & token.persons:
            return False
        gap = _after_initial() if last.initial else _between_parts()
        return gap.fullmatch(text, last.end, token.start) is not None

    def _close(self, text: str, run: list[_Token], spans: list[tuple[int, int, str]]) -> None:
        if not run:
            return
        if all(t.initial for t in run):
            self._close_initials(text, run, run[-1].shared, spans)
            return
        while run[-1].initial:  # "Taylor A." keeps the letter after the name
            run.pop()
        persons = run[-1].shared
        for token in run:
            if token.ordinary and token.capitalised and not token.possessive:
                token.sentence_start = _starts_sentence(text, token.start)
        if any(_reads_as_name(t) for t in run) or any(a.initial and b.capitalised for a, b in pairwise(run)):
            spans.append((run[0].start, run[-1].end, PUPIL if _PUPIL_ID in persons else CONTACT))

    def _close_initials(self, text: str, run: list[_Token], persons: frozenset[int],
                        spans: list[tuple[int, int, str]]) -> None:
        """"A.M.L.G." alone names the pupil as surely as the full name does."""
        end = run[-1].end
        if len(run) < 2 or not text.startswith(".", end):
            return
        if not all(("." in text[a.end:b.start] or "-" in text[a.end:b.start]) for a, b in pairwise(run)):
            return
        letters = tuple(_fold(text[t.start:t.end]) for t in run)
        for person in sorted(persons):
            if self._initial_sequences.get(person) == letters:
                spans.append((run[0].start, end + 1, PUPIL if person == _PUPIL_ID else CONTACT))
                return

    def _special(self, kind: str | None, match: re.Match[str]) -> str | None:
        if kind == "email":
            return EMAIL
        if kind == "phone":
            return PHONE
        if kind == "postcode":
            return POSTCODE
        if kind == "date" and self._date_of_birth and _is_date(match, self._date_of_birth):
            return DATE_OF_BIRTH
        return None


def is_common_word(word: str) -> bool:
    """Whether a name part is also an ordinary English word, and so masked only where it reads as a name."""
    return _fold(word) in _common_words()


def _reads_as_name(token: _Token) -> bool:
    """An ordinary word ("Demo") is a name only where it is written like one."""
    if not token.ordinary or token.possessive:
        return True
    return token.capitalised and not token.sentence_start


def _fold(text: str) -> str:
    """The comparison key: "İbrahim", "IBRAHIM" and "Ibrahím" must meet, whatever the lengths.

    casefold rather than lower() (ß, İ); accents dropped because staff type names without them.
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold().translate(_FOLD_EXTRA)


def _is_single_cased_letter(word: str) -> bool:
    """Lone Latin/Greek/Cyrillic letters are initials; a lone Chinese character is a name."""
    letters = [ch for ch in word if not unicodedata.category(ch).startswith("M")]
    return len(letters) == 1 and letters[0].lower() != letters[0].upper()


def _capitalised(word: str) -> bool:
    return word[:1].isupper() or word[:1].istitle()


def _starts_sentence(text: str, position: int) -> bool:
    i = position - 1
    while i >= 0:
        ch = text[i]
        if ch in _LINE_BREAKS:
            return True
        if not (ch.isspace() or ch in _LEAD_INS):
            break
        i -= 1
    if i < 0 or text[i] in _SENTENCE_ENDS:
        return True
    if text[i] != ".":
        return False
    word_start = i
    while word_start > 0 and text[word_start - 1].isalpha():
        word_start -= 1
    before = text[word_start:i]
    return not (before.lower() in _TITLES or (len(before) == 1 and before.isupper()))


def _is_date(match: re.Match[str], wanted: date) -> bool:
    """Only the pupil's own date of birth is hidden: the chronology's dates are needed for advice."""
    groups = match.groupdict()
    if groups["iy"]:
        found = [(groups["iy"], groups["im"], groups["id"])]
    elif groups["ny"]:
        # UK order first; the US order only where the UK reading is no date at all.
        found = [(groups["ny"], groups["nm"], groups["nd"])]
        if not _valid(groups["ny"], groups["nm"], groups["nd"]):
            found.append((groups["ny"], groups["nd"], groups["nm"]))
    elif groups["ty"]:
        found = [(groups["ty"], str(_MONTHS[groups["tm"].lower()]), groups["td"])]
    else:
        found = [(groups["uy"], str(_MONTHS[groups["um"].lower()]), groups["ud"])]
    return any(int(month) == wanted.month and int(day) == wanted.day
               and int(year) == (wanted.year if len(year) == 4 else wanted.year % 100)
               for year, month, day in found)


def _valid(year: str, month: str, day: str) -> bool:
    """Whether a numeric date can be read day first, as it would be in an English school."""
    try:
        date(int(year) if len(year) == 4 else 2000 + int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    if not spans:
        return text
    pieces, position = [], 0
    for start, end, placeholder in sorted(spans):
        pieces += [text[position:start], placeholder]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


@cache
def _common_words() -> frozenset[str]:
    """Loaded once per process, from package data so that it works from an installed wheel."""
    packed = files(__package__).joinpath("common_words.txt.gz").read_bytes()
    lines = gzip.decompress(packed).decode("utf-8").splitlines()
    return frozenset(_fold(line.strip()) for line in lines if line.strip() and not line.startswith("#"))


@cache
def _marks() -> str:
    """Combining marks as a character class: Python's \\w leaves them out, which would cut
    "José" typed with a combining accent, or a Devanagari name, into pieces."""
    ranges: list[str] = []
    start = previous = -2
    for code in range(sys.maxunicode + 1):
        if not unicodedata.category(chr(code)).startswith("M"):
            continue
        if code != previous + 1:
            if start >= 0:
                ranges.append(_range(start, previous))
            start = code
        previous = code
    ranges.append(_range(start, previous))
    return "[" + "".join(ranges) + "]"


def _range(first: int, last: int) -> str:
    return f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}"


@cache
def _word_pattern() -> re.Pattern[str]:
    return re.compile(f"(?:[^\\W\\d_]|{_marks()})++")


@cache
def _between_parts() -> re.Pattern[str]:
    """What may separate two parts of one name: "Anna Maria", "Lopez-Garcia", "O'Brien"."""
    return re.compile(r"\s+|\s*[-\u2010\u2011\u2013]\s*|['\u2019]")


@cache
def _after_initial() -> re.Pattern[str]:
    """What may follow an initial: "A. Taylor", "A Taylor", "A.Taylor", "L-G", "O'Brien"."""
    return re.compile(r"\.?\s*(?:[-\u2010\u2011]\s*)?|['\u2019]")


@cache
def _scanner() -> re.Pattern[str]:
    """One pattern, tried left to right once, so the cost stays linear in the text's length.

    Each alternative that scans far before it can fail is anchored by a look-behind, so it is
    tried only at the start of a run of characters, and possessive quantifiers stop backtracking.
    Dates come before words so that "19 May 2013" is read as a date, not as the pupil May.
    """
    months = "|".join(sorted(_MONTHS, key=len, reverse=True))
    month = rf"(?:{months})(?![^\W\d_])"
    ordinal = r"(?:st|nd|rd|th)?"
    space = r"[ \u00a0]++"
    dash = r"[ \u00a0-]++"  # "19 July 2013" and "19-Jul-2013"
    date_ = "|".join([
        r"(?<![\d/.-])(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})(?!\d)",
        r"(?<![\d/.-])(?P<nd>\d{1,2})(?P<nsep>[-/.])(?P<nm>\d{1,2})(?P=nsep)(?P<ny>\d{4}|\d{2})(?!\d)",
        rf"(?<![\d.])(?P<td>\d{{1,2}}){ordinal}(?:{space}of)?{dash}(?P<tm>{month})\.?,?{dash}(?P<ty>\d{{4}})(?!\d)",
        rf"(?<![^\W\d_])(?P<um>{month})\.?,?{space}(?P<ud>\d{{1,2}}){ordinal},?{space}(?P<uy>\d{{4}})(?!\d)",
    ])
    email = r"(?<![\w.+'-])[\w.+'-]++@[\w-]++(?:\.[\w-]++)+"
    # "(0114) 496 0123" takes its bracket; "(07700 900123)" leaves both brackets to the text.
    phone = r"(?<![\w+])(?:\+|\((?=0\d{2,4}\))|(?=0))(?:[ \u00a0()\-]{0,2}\d){10,14}(?!\d)"
    postcode = rf"(?<!\w)(?:{_POSTCODE_AREAS})\d[A-Z\d]?[ \u00a0]?\d[ABD-HJLNP-UW-Z]{{2}}(?!\w)"
    return re.compile(
        rf"(?P<email>{email})|(?i:(?P<date>{date_}))|(?P<phone>{phone})|(?i:(?P<postcode>{postcode}))"
        rf"|(?P<word>{_word_pattern().pattern})"
    )
