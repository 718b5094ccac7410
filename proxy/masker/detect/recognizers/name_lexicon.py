"""Person names with no cue at all, recognised by the names themselves and where they stand.

NER misses names that are rare in English news text (Zoltán Kovács, Priyanka Raghunathan, Γιώργος
Παπαδόπουλος), a first name alone as the subject of a sentence ("Emily called about the refill"),
the name alone on the first line of a letter or address block, and a name inside a file name
("JaneRoe_MRI_2023.pdf"). Each needs evidence beyond capitalisation, because capitalised pairs are
mostly places, organisations and headings:

- a capitalised pair (or triple) whose words are all in the given/family-name lexicon of 100+
  countries (``lexicon.given_names``/``family_names``), one of them a given name and none an
  everyday or clinical English word; or a given name followed by an unknown capitalised word;
- a pair of capitalised words in a non-Latin script inside Latin-script text (transliterations are
  what the lexicon holds);
- a known given name opening a sentence, followed by a reporting verb;
- a line of two or three capitalised words followed by a street-address line;
- file-name parts that are names, next to a known given name.
"""

from __future__ import annotations

import re
import unicodedata

from ..clinical import drug_at, eponym_at
from ..lexicon import (
    CALENDAR_WORDS,
    CLINICAL_WORDS,
    COMMON_WORDS,
    COUNTRIES_AND_REGIONS,
    EPONYM_HEADS,
    HONORIFICS,
    LABEL_AND_PAYER_WORDS,
    NAME_LIKE_WORDS,
    SERVICE_WORDS,
    STOP_WORDS,
    US_STATES,
    family_names,
    given_names,
)
from ..recognizer import Doc, Recognizer, finditer_at, gate_regex
from ..types import Entity, Finding

_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u1e00-\u1eff\u0386-\u038f\u0391-\u03ab\u0400-\u042f"
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f\u1e00-\u1eff\u03ac-\u03ce\u0430-\u045f"
_CAP_WORD = (
    rf"(?:[OD]['\u2019](?=[{_UPPER}])|(?:al|el)-(?=[{_UPPER}]))?"
    rf"[{_UPPER}][{_LOWER}]+(?:['\u2019-][{_UPPER}]?[{_LOWER}]+)?"
)
# Lower-case particles inside a name: "Ludwig van der Berg", "Maria de la Cruz", "Ahmed bin Rashid".
_PARTICLE = (
    r"(?:van|von|der|den|de|del|della|la|le|du|da|di|dos|das|bin|ibn|bint|ben|ter|ten|zu|af|"
    # Irish, also as the folded text spells them: "Adele Ó Sidheáil", "Nuala Ní Bhriain"
    r"\u00d3|N\u00ed|O|Ni|Nic|U\u00ed|Ui|Ua)"
)
# Two to three capitalised words on one line (a middle initial or particles allowed).
_CAP_RUN = re.compile(
    rf"(?<![\w@./'\u2019-]){_CAP_WORD}"
    rf"(?:[ \t]+(?:[A-Z]\.[ \t]+|(?:{_PARTICLE}[ \t]+){{1,3}})?{_CAP_WORD}){{1,2}}(?![\w@'\u2019-])"
)
# A capitalised word inside a sentence (a lower-case word or a comma before it, a lower-case word or
# punctuation after it): "Please call Ngozi back", "discussed with Aino, her sister".
_MID_SENTENCE = re.compile(
    rf"(?<=[a-z,][ \t])(?P<name>{_CAP_WORD})(?=[.,;:!?)]|[ \t]+[a-z]|[ \t]*$)", re.MULTILINE
)
_MID_GATE = gate_regex(r"[a-z,][ \t][A-Z][a-z]")
_CAP_PARTICLES = frozenset({"\u00d3", "N\u00ed", "O", "Ni", "Nic", "U\u00ed", "Ui", "Ua"})
# "J. R. Smith", "A. Kowalczyk": initials before a family name of the lexicon.
_INITIALS = re.compile(rf"(?<![\w.])(?:[A-Z]\.[ \t]*){{1,3}}(?P<family>{_CAP_WORD})(?![\w'\u2019-])")
_INITIAL_GATE = gate_regex(r"[A-Z]\.[ \t]*[A-Z][a-z]")
_WORD_IN_RUN = re.compile(_CAP_WORD)
_NON_LATIN = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
_NON_LATIN_WORD = re.compile(
    r"(?<!\w)[\u0386-\u038f\u0391-\u03ab\u0400-\u042f][\u03ac-\u03ce\u0430-\u045f]+(?!\w)"
)

# Words that end place and organisation names ("Hope Street", "Mason General").
_PLACE_ORG_TEXT = """
    street st road rd avenue ave drive dr lane ln court ct boulevard blvd way place pl parkway
    highway hwy square terrace circle trail suite apt floor building hall tower park lake river
    mount mountain hill hills valley beach bay island harbor harbour springs falls heights ridge
    city county town village north south east west central general regional memorial medical
    hospital clinic center centre health healthcare care pharmacy university college school
    institute foundation group associates partners inc llc ltd corp company bank insurance church
    department dept unit ward wing services service systems labs laboratory family pediatrics
    urgent emergency community national international american united states new saint san santa
    fort port airport station calle rue via avenida plaza
"""
_PLACE_ORG_WORDS = frozenset(_PLACE_ORG_TEXT.split())
_NEVER = (
    STOP_WORDS
    | COMMON_WORDS
    | CLINICAL_WORDS
    | CALENDAR_WORDS
    | HONORIFICS
    | LABEL_AND_PAYER_WORDS
    | US_STATES
    | COUNTRIES_AND_REGIONS
    | _PLACE_ORG_WORDS
    | SERVICE_WORDS
    | EPONYM_HEADS
)
# Given names that are everyday words too: never enough on their own at a sentence start.
_AMBIGUOUS = NAME_LIKE_WORDS

_REPORTING_VERBS = (
    "said|says|called|calls|reported|reports|stated|states|denies|denied|complains|complained|"
    "presented|presents|arrived|came|went|asked|asks|told|wants|wanted|needs|needed|lives|lived|"
    "works|worked|"
    "feels|felt|notes|noted|mentioned|explained|agreed|declined|returned|visited|left|drove|walked|"
    "fell|takes|took|missed|brought|sent|emailed|texted|phoned|signed|scheduled|cancelled|canceled|"
    "confirmed|tested|underwent|remains|remained|continues|continued|prefers|preferred|lost|gained|"
    # auxiliaries and copulas: "Ingrid is feeling better", "Sven has a fever", "Aino will call back"
    "is|was|has|had|will|would|can|could|does|did|should|may|might|must|feels|looks|seems|got|went|"
    "thinks|thought|knows|knew|gets|goes|keeps|kept|became|becomes"
)
_STRONG_VERBS = frozenset(
    {"said", "says", "called", "reported", "stated", "denies", "denied", "complained", "complains",
     "presented", "told", "asked"}
)  # fmt: skip
# A sentence's first word and a reporting verb after it; tried only where a sentence starts.
_FIRST_WORD = re.compile(_CAP_WORD)
_VERB_AFTER = re.compile(rf"[ \t]+(?P<verb>{_REPORTING_VERBS})\b")
_SENTENCE_START = re.compile(r"[.!?][ \t]+|\n[ \t]*")
# "Jane Q. Roe\n42 Elm Street" / "Jane Roe\nPO Box 12": the first line of an address block; tried
# only at line starts.
_ADDRESS_BLOCK = re.compile(
    rf"[ \t]*(?P<name>{_CAP_WORD}(?:[ \t]+(?:[A-Z]\.?[ \t]+)?{_CAP_WORD}){{1,2}})"
    r"[ \t]*,?[ \t]*\r?\n"
    r"[ \t]*(?:\d{1,6}[A-Za-z]?[ \t]+[A-Za-z]|P\.?[ \t]*O\.?[ \t]+Box|Apt|Unit|Suite)",
)
_FILE = re.compile(
    # (with the folders of its path: "scans/walter.oderwald/face_front.heic")
    r"(?<![\w./])(?P<stem>[A-Za-z0-9][A-Za-z0-9_./-]{2,120})\.(?:pdf|docx?|rtf|txt|csv|xlsx?|jpe?g|png|"
    r"gif|tiff?|heic|dcm|dicom|mp3|mp4|m4a|wav|zip|json|xml|html?|eml|msg)(?![\w])",
    re.IGNORECASE,
)
# Prefilters (necessary conditions, answered by the multi-pattern scan): a capitalised pair in an
# ASCII text, a reporting verb, a file extension.
_ASCII_PAIR = gate_regex(
    rf"[A-Z][a-z]+[ \t]+(?:[A-Z]\.[ \t]+|(?:{_PARTICLE}[ \t]+){{1,3}})?(?:[OD]'|al-|el-)?[A-Z][a-z]"
)
_VERB = gate_regex(rf"\b(?:{_REPORTING_VERBS})\b")
_EXTENSION = gate_regex(
    r"\.(?:pdf|docx?|rtf|txt|csv|xlsx?|jpe?g|png|gif|tiff?|heic|dcm|dicom|mp3|mp4|m4a|wav|zip|json|xml|"
    r"html?|eml|msg)(?!\w)",
    re.IGNORECASE,
)
_FILE_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# A given and a family name run together ("GlennLedwith", "KariLindroos"): a user name, a handle,
# a file or a field value written without a space.
# Or joined by "_" or "." ("travis_davis", "walter.oderwald"), any case.
_GLUED_NAME = re.compile(
    r"(?<![\w@./-])(?:(?P<a>[A-Z][a-z]{2,})(?P<b>[A-Z][a-z]{2,})|(?P<c>[A-Za-z][a-z]{2,})[_.](?P<d>[A-Za-z][a-z]{2,}))"
    r"(?![\w@]|\.\w)"
)
_GLUED_GATE = gate_regex(r"[a-z][A-Z][a-z][a-z]|[a-z][_.][A-Za-z][a-z]")


def _after_capital(text: str, start: int) -> bool:
    """Does the word before ``start`` (one space back) begin with a capital ("New York")?"""
    i = start - 2
    while i >= 0 and (text[i].isalpha() or text[i] in "'\u2019-"):
        i -= 1
    return i + 1 < start - 1 and text[i + 1].isupper()


def _line_starts(text: str) -> list[int]:
    out = [0]
    i = text.find("\n")
    while i >= 0:
        out.append(i + 1)
        i = text.find("\n", i + 1)
    return out


def _in(names: frozenset[str], w: str) -> bool:
    """``w`` (case-folded) or, for an accented spelling the lexicon lacks, ``w`` without accents
    ("émile" -> "emile")."""
    if w in names:
        return True
    if w.isascii():
        return False
    bare = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    return bare != w and bare in names


_NAME_PREFIX = re.compile(r"^(?:o|d|al|el)['\u2019-]")


def _in_any(names: frozenset[str], w: str) -> bool:
    """``w`` as written, without a name prefix ("o'neill" -> "neill", "al-farouk" -> "farouk"), or
    every part of a hyphenated name ("jean-luc", "smith-jones")."""
    if _in(names, w):
        return True
    if "'" not in w and "\u2019" not in w and "-" not in w:
        return False  # most words: no prefix, no hyphen
    bare = _NAME_PREFIX.sub("", w)
    if bare != w and _in(names, bare):
        return True
    parts = bare.split("-")
    return len(parts) > 1 and all(p and _in(names, p) for p in parts)


def _is_given(word: str) -> bool:
    w = word.casefold()
    return w not in _NEVER and _in_any(given_names(), w)


def _is_family(word: str) -> bool:
    w = word.casefold()
    return w not in _NEVER and _in_any(family_names(), w)


def _is_known(word: str) -> bool:
    w = word.casefold()
    return w not in _NEVER and (_in_any(given_names(), w) or _in_any(family_names(), w))


def is_known_name(word: str) -> bool:
    """A given or family name of the lexicon, and not an everyday, clinical or place word."""
    return _is_known(word)


def person_shaped(words: list[str]) -> bool:
    """Two or three words, each a given or family name of the lexicon (accents folded, prefixes and
    hyphenated parts looked up), one of them a given name, none everyday or clinical vocabulary."""
    return 2 <= len(words) <= 3 and all(_is_known(w) for w in words) and any(_is_given(w) for w in words)


def _excluded(word: str) -> bool:
    return word.casefold().replace("\u2019", "'") in _NEVER


class NameLexiconRecognizer(Recognizer):
    name = "name_lexicon"

    def __init__(self) -> None:
        # Load the lexicon with the registry (process start), not on the first request.
        given_names()
        family_names()

    def analyze(self, doc: Doc) -> list[Finding]:
        text = doc.text
        out: list[Finding] = []
        if text.islower():  # lower-case speech has no capitals to go on; the cue recognizers cover it
            return self._files(doc, out)
        # Greek or Cyrillic words in an otherwise Latin-script (English) text are names far more often
        # than not; in a text written in that script they are ordinary words.
        non_latin = not doc.ascii and _NON_LATIN.search(text) is not None
        latin_text = not non_latin or len(_LATIN_WORD.findall(text)) >= 2
        if not doc.ascii or doc.found(_ASCII_PAIR):
            for m in _CAP_RUN.finditer(text):
                self._run(text, m, out, latin_text=latin_text)
        if latin_text and non_latin:
            # A lone Greek or Cyrillic word, capitalised, in English text ("Dear Χλόη,").
            for m in _NON_LATIN_WORD.finditer(text):
                out.append(Finding(*m.span(), Entity.PERSON, 0.55, self.name))
        if doc.found(_MID_GATE):
            for m in _MID_SENTENCE.finditer(text):
                word = m.group("name")
                if word.casefold() in _AMBIGUOUS or not _is_given(word) or _after_capital(text, m.start()):
                    continue
                if eponym_at(text, m.start(), m.end()) or drug_at(text, m.start(), m.end()):
                    continue
                out.append(Finding(*m.span(), Entity.PERSON, 0.55, self.name))
        if doc.found(_INITIAL_GATE):
            for m in _INITIALS.finditer(text):
                if _is_family(m.group("family")) and not eponym_at(text, m.start("family"), m.end()):
                    out.append(Finding(*m.span(), Entity.PERSON, 0.6, self.name))
        if doc.found(_VERB):
            # The given name is looked up first (a set lookup); the verb after it only for a name.
            for start in (0, *(m.end() for m in _SENTENCE_START.finditer(text))):
                first = _FIRST_WORD.match(text, start)
                if first is None or not _is_given(first.group()):
                    continue
                verb = _VERB_AFTER.match(text, first.end())
                if verb is None:
                    continue
                if first.group().casefold() in _AMBIGUOUS and verb.group("verb") not in _STRONG_VERBS:
                    continue
                out.append(Finding(*first.span(), Entity.PERSON, 0.6, self.name))
        if "\n" in text:
            lines = _line_starts(text)
            for m in finditer_at(_ADDRESS_BLOCK, text, lines):
                words = _WORD_IN_RUN.findall(m.group("name"))
                if words and not any(_excluded(w) for w in words):
                    out.append(Finding(*m.span("name"), Entity.PERSON, 0.75, self.name))
        return self._files(doc, out)

    @staticmethod
    def _run(text: str, m: re.Match[str], out: list[Finding], *, latin_text: bool) -> None:
        given_set, family_set = given_names(), family_names()
        if m.group().isascii() and not any(
            w.casefold() in given_set or w.casefold() in family_set for w in m.group().split()
        ):
            return  # no word of it is a name (most capitalised pairs): nothing to weigh
        found = _WORD_IN_RUN.finditer(text, m.start(), m.end())
        words = [w for w in found if w.group() not in _CAP_PARTICLES]
        # Trim everyday words from both ends ("Dear Maria Lopez", "Zoltán Kovács Says").
        while words and _excluded(words[0].group()):
            words.pop(0)
        while words and _excluded(words[-1].group()):
            words.pop()
        if len(words) < 2 or any(_excluded(w.group()) for w in words):
            return
        start, end = words[0].start(), words[-1].end()
        values = [w.group() for w in words]
        if latin_text and all(_NON_LATIN.search(v) for v in values):
            out.append(Finding(start, end, Entity.PERSON, 0.65, "name_lexicon"))
            return
        if _NON_LATIN.search("".join(values)):
            return
        known = [_is_known(v) for v in values]
        if len(values) == 3 and not known[1] and len(values[1]) <= 4:
            known[1] = True  # a short middle name the lexicon lacks ("Nguyễn Thị Lan")
        given = [_is_given(v) for v in values]
        family = [_is_family(v) for v in values]
        score = 0.0
        if all(known) and any(given) and (any(family) or sum(given) >= 2):
            score = 0.62
        elif given[0] and values[0].casefold() not in _AMBIGUOUS and len(values) == 2 and len(values[1]) >= 3:
            score = 0.55  # a known given name and an unknown capitalised word: most often a rare surname
        if score and not eponym_at(text, words[-1].start(), end):  # not "… Paget's disease"
            out.append(Finding(start, end, Entity.PERSON, score, "name_lexicon"))

    @staticmethod
    def _files(doc: Doc, out: list[Finding]) -> list[Finding]:
        text = doc.text
        if doc.found(_GLUED_GATE):
            for m in _GLUED_NAME.finditer(text):
                a, b = (m.group("a"), m.group("b")) if m.group("a") else (m.group("c"), m.group("d"))
                # (the joined shape is the evidence a lone "Jack" lacks: both words must be names)
                if _is_given(a) and _is_family(b):
                    out.append(Finding(m.start(), m.end(), Entity.PERSON, 0.6, "name_lexicon"))
        if not doc.found(_EXTENSION):
            return out
        for m in _FILE.finditer(text):
            stem_start = m.start("stem")
            parts = [
                (stem_start + p.start(), stem_start + p.end(), p.group())
                for p in _FILE_PART.finditer(m.group("stem"))
            ]
            for i, (s, e, part) in enumerate(parts):
                if len(part) < 3 or not _is_given(part):
                    continue
                lo, hi = s, e
                # Take the neighbouring part too when it is a name or unknown ("roe_jane", "JaneRoe"),
                # within the same folder or file name.
                for j in (i - 1, i + 1):
                    if 0 <= j < len(parts):
                        ps, pe, other = parts[j]
                        if "/" in text[min(pe, e) : max(ps, s)]:
                            continue
                        if len(other) >= 2 and not _excluded(other) and (other.isalpha()):
                            lo, hi = min(lo, ps), max(hi, pe)
                out.append(Finding(lo, hi, Entity.PERSON, 0.6, "name_lexicon"))
        return out
