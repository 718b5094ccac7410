"""Person names that NER misses: after titles ("Dr. Patel") and after spoken cues in lower-case ASR
text ("my name is john smith", "this is maria calling", "my daughter emily").

Strong cues ("my name is") accept any non-stop-word; weak cues ("i'm", "this is") need the token to
be a known given name or to be followed by a call-centre verb ("calling", "speaking", "here").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..lexicon import (
    CLINICAL_WORDS,
    COMMON_FIRST_NAMES,
    COMMON_WORDS,
    LABEL_AND_PAYER_WORDS,
    NAME_LIKE_WORDS,
    PLAIN_VERBS_AND_ADVERBS,
    SERVICE_WORDS,
    STOP_WORDS,
    family_names,
    given_names,
)
from ..recognizer import (
    Doc,
    Recognizer,
    finditer_at,
    finditer_from,
    fold_words,
    gate_regex,
    lowercase_variant,
    text_words,
    word_alternation,
)
from ..types import Entity, Finding

_NOT_NAME = STOP_WORDS | COMMON_WORDS | CLINICAL_WORDS
# Letters of Latin (with accents), Greek and Cyrillic script: "Dear Åke", "Dr. Ströbel", "Dear Χλόη".
_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\u0370-\u03ff\u0400-\u04ff"
_WORD = rf"[{_LETTER}][{_LETTER}'\u2019-]*"
_WORD_RX = re.compile(_WORD)  # compiled once: ``re.finditer(_WORD, …)`` pays a cache lookup per call
_NOT_LETTER = re.compile(r"[^a-zA-Z]")
_NOT_LOWER = re.compile(r"[^a-z]")
_SPELLED_LEAD = re.compile(r"^(?:thats|its|spelled)")

_TITLE = re.compile(
    rf"\b(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof|Sr|Fr)\.?|Doctor|Nurse|Miss|Mister|Professor|Dra\.?)[ \t]+"
    rf"(?=(?P<name>[A-Z]{_WORD}(?:[ \t]+[A-Z]\.)?(?:[ \t]+[A-Z]{_WORD}){{0,2}}))",
)
_TITLE_LOWER = re.compile(
    # The name is a lookahead so "doctor is doctor nguyen" still finds the second title.
    rf"\b(?:dr\.?|doctor|mr\.?|mrs\.?|ms\.?|miss|nurse)[ \t]+(?=(?P<name>{_WORD}(?:[ \t]+{_WORD})?))",
    re.I,
)
_STRONG = re.compile(
    rf"\b(?:my\s+name\s+is|my\s+name's|name's|name\s+is|names\s+is|last\s+name\s+is|first\s+name\s+is|"
    rf"(?:first|last|middle|given|family)\s+name|nicknamed|known\s+as|aka|"
    rf"full\s+name\s+is|surname\s+is|patient\s+name\s*:?|name\s*:|called|named|goes\s+by|"
    rf"spelled|the\s+patient\s+is|pt\s+is|patient|caller\s+is|signed|sincerely|regards|thanks|"
    rf"emergency\s+contact\s+is|emergency\s+contact\s*:?|contact\s+person\s+is|pt|"
    rf"next\s+of\s+kin\s*:?|nok\s*:|guardian\s*:?|power\s+of\s+attorney\s*:?|poa\s*:|health\s+care\s+proxy\s*:?|"
    rf"accompanied\s+by|brought\s+in\s+by|spoke\s+with|spoke\s+to|per|cc\s*:)"
    rf"(?=[ \t,:]+[\"'\u201c\u2018]?(?P<name>{_WORD}(?:[ \t]+{_WORD}){{0,2}}))",
    re.I,
)
_WEAK = re.compile(
    rf"\b(?:this\s+is|i'm|i\s+am|it's|its|im|speaking\s+with|talking\s+to|talk\s+to|speak\s+to|speak\s+with|"
    rf"talked\s+(?:to|with)|asked\s+for|"
    rf"ask\s+for|(?:(?:my|his|her|their|patient's|the\s+patient's)\s+)?(?:wife|husband|son|daughter|mother|father|mom|dad|brother|sister|partner|"
    rf"caregiver|grandson|granddaughter|grandmother|grandfather|aunt|uncle|niece|nephew|friend|"
    rf"neighbor|neighbour|fiance|fiancee|boyfriend|girlfriend|child|cousin|guardian)(?:'s\s+name\s+is|,|\s+is)?|"
    rf"hi|hello|hey|dear|thank\s+you|thanks)(?=[ \t,]+(?P<name>{_WORD}(?:[ \t]+{_WORD}){{0,2}}))",
    re.I,
)
# Prefilters for the cue regexes: words every match contains (case-sensitive ones in the text,
# IGNORECASE ones in ``Doc.fold``).
_STRONG_WORDS = fold_words((
    "name", "call", "known", "aka", "goes", "spelled", "patient", "pt", "signed", "sincerely",
    "regards", "thanks",
    "contact", "next", "nok", "guardian", "power", "poa", "health", "accompanied", "brought", "spoke",
    "per", "cc",
))  # fmt: skip
_TITLE_WORDS = ("Dr", "Mr", "Ms", "Mx", "Prof", "Sr", "Fr", "Doctor", "Nurse", "Mis")
_TITLE_LOWER_WORDS = fold_words(("dr", "doctor", "mr", "ms", "miss", "nurse"))
_INVERTED_WORDS = ("pt", "patient", "name", "resident", "member", "subscriber", "guarantor", "insured")
_BY_WORDS = (
    "signed", "seen", "examined", "dictated", "referred", "authored", "reviewed", "transcribed", "attested",
    "evaluated", "treated", "prescribed", "ordered", "co-signed", "cosigned",
)  # fmt: skip
_FIELD_WORDS = text_words(
    (
        "PATIENT", "PT", "NAME", "RESIDENT", "MEMBER", "SUBSCRIBER", "GUARANTOR", "INSURED", "RE", "ATTN",
        "CLIENT",
    )
)  # fmt: skip
_COMMA = text_words((",",))
_CREDENTIAL_WORDS = (
    "MD", "M.D.", "DO", "D.O.", "RN", "NP", "PA", "DDS", "PhD", "LPN", "CNA", "MSW", "LCSW", "PharmD",
    "RPh", "DPM", "OD", "MBBS", "FAC",
)  # fmt: skip
# The same check as one scan: they all start with a capital, which ``re`` skips to (19 ``in`` tests
# cost ~1 µs per utterance).
_CREDENTIAL_GATE = gate_regex("|".join(re.escape(w) for w in _CREDENTIAL_WORDS))
# The IGNORECASE cue regexes have only lower-case letters, so on an ASCII text their variants without
# IGNORECASE find the same spans in ``Doc.lower`` at a quarter of the cost (see ``lowercase_variant``).
_TITLE_LOWER_LC = lowercase_variant(_TITLE_LOWER)
_STRONG_LC = lowercase_variant(_STRONG)
_WEAK_LC = lowercase_variant(_WEAK)
_CALL_VERB = re.compile(r"[ \t,]+(?:calling|speaking|here|from|with|on\s+the\s+line)\b", re.I)

# Where the cue regexes can start, on an ASCII text: each begins (after ``\b``) with one of these
# words, and every word is followed by a character outside ``[a-z0-9]`` ("i'm", "dr.", "my wife").
# One trie scan of ``Doc.lower`` finds every such word (matches are whole words, so none hides
# another); each regex is then tried only there, instead of alternating ~50 cues at every word.
_WEAK_LEADS = frozenset(
    {
        "this", "i", "it", "its", "im", "speaking", "talking", "talk", "talked", "speak", "ask", "asked",
        "my", "his",
        "her", "their", "patient", "the", "wife", "husband", "son", "daughter", "mother", "father",
        "mom", "dad", "brother", "sister", "partner", "caregiver", "grandson", "granddaughter",
        "grandmother", "grandfather", "aunt", "uncle", "niece", "nephew", "friend", "neighbor",
        "neighbour", "fiance", "fiancee", "boyfriend", "girlfriend", "child", "cousin", "guardian",
        "hi", "hello", "hey", "dear", "thank", "thanks",
    }
)  # fmt: skip
_STRONG_LEADS = frozenset(
    {
        "my", "name", "names", "last", "first", "full", "surname", "patient", "called", "named",
        "goes", "spelled", "the", "pt", "caller", "signed", "sincerely", "regards", "thanks",
        "emergency", "contact", "next", "nok", "guardian", "power", "poa", "health", "accompanied",
        "brought", "spoke", "per", "cc", "middle", "given", "family", "nicknamed", "known", "aka",
    }
)  # fmt: skip
_TITLE_LOWER_LEADS = frozenset({"dr", "doctor", "mr", "mrs", "ms", "miss", "nurse"})
_TITLE_LEADS = frozenset(
    {
        "dr",
        "mr",
        "mrs",
        "ms",
        "mx",
        "prof",
        "sr",
        "fr",
        "doctor",
        "nurse",
        "miss",
        "mister",
        "professor",
        "dra",
    }
)
_LEADS = re.compile(word_alternation(_WEAK_LEADS | _STRONG_LEADS | _TITLE_LOWER_LEADS | _TITLE_LEADS))


_FUNCTION = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "is",
        "was",
        "are",
        "be",
        "this",
        "that",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "it",
        "its",
        "as",
        "so",
        "if",
        "not",
        "no",
        "yes",
        "hi",
        "hello",
        "please",
        "thanks",
        "thank",
        "am",
        "i",
        "im",
        "he",
        "she",
        "we",
        "they",
        "you",
        "me",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "yesterday",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mg",
        "ok",
        "okay",
        "sir",
        "madam",
    ]
) | frozenset({"dr", "mr", "mrs", "ms", "mx", "doctor", "nurse", "prof", "professor", "miss", "mister"})
# Contractions with the apostrophe folded away ("you're" -> "youre"): never names.
_FUNCTION |= frozenset(
    [
        "youre", "theyre", "were", "hes", "shes", "thats", "whats", "theres", "heres", "ive", "youve",
        "weve", "theyve", "id", "youd", "hed", "shed", "wed", "theyd", "ill", "youll", "hell", "shell",
        "well", "theyll", "isnt", "arent", "wasnt", "werent", "dont", "doesnt", "didnt", "cant",
        "couldnt", "wont", "wouldnt", "shouldnt", "lets", "yall",
    ]
)  # fmt: skip


_PARTICLES = frozenset({"de", "van", "von", "da", "del", "della", "la", "le", "bin", "al", "du", "di"})


def _fold(raw: str) -> str:
    w = raw.lower().replace("\u2019", "'").strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    return w.replace("'", "")  # "i'm" -> "im", "it's" -> "its": contractions are function words


# An unknown lower-case word ending like an inflected verb or adverb ("needs", "called", "going",
# "really") ends a lower-case name rather than continuing it: "my daughter emily needs …".
_INFLECTED = re.compile(r"(?:s|ed|ing|ly)$")


def _name_tokens(start: int, value: str, *, strict: bool) -> tuple[int, int] | None:
    """Trim the captured words to the leading run that looks like a name.

    Capitalised words are trusted ("Dr. Will Hope") unless they are function words or clinical
    vocabulary; lower-case words must not be common words, and under ``strict`` (weak cues) the first
    must be a known given name (a common one, or any given name followed by a family name). A
    lower-case word after the first continues the name only if it is a known name or does not look
    like an inflected verb.
    """
    kept_end = -1
    count = 0
    first_cap = False
    words = list(_WORD_RX.finditer(value))
    for i, m in enumerate(words):
        raw = m.group()
        w = _fold(raw)
        cap = (raw[0].isupper() and not raw.isupper()) or (raw.isupper() and len(raw) > 1 and count > 0)
        if len(w) < 2 or w in _FUNCTION or w in CLINICAL_WORDS or w in LABEL_AND_PAYER_WORDS:
            break
        if not cap and w in _NOT_NAME:
            break
        # After a weak cue a capitalised word must still not be vocabulary: "Mother Baby Unit",
        # "Heparin drip per Protocol".
        if strict and cap and (w in SERVICE_WORDS or (w in COMMON_WORDS and w not in given_names())):
            break
        if strict and count == 0 and not cap and w not in COMMON_FIRST_NAMES:
            after = _fold(words[i + 1].group()) if i + 1 < len(words) else ""
            # Any given name of the lexicon when a family name or a verb follows ("its jane roe",
            # "my son dmitri wants …"), or nothing does.
            known = w in given_names() and (
                (after in family_names() and after not in _NOT_NAME)
                or (not after and not raw.isupper())
                or _INFLECTED.search(after)
                # "spoke with nurse kendra yesterday": an everyday word after it, and no everyday
                # word or verb shape itself ("patient states pain …")
                or (
                    _known_word(after)
                    and w not in NAME_LIKE_WORDS
                    and w not in PLAIN_VERBS_AND_ADVERBS
                    and not _INFLECTED.search(w)
                )
            )
            if not known:
                break
        # Cased text: after "Maria" only capitalised words (or name particles) continue the name.
        if count > 0 and first_cap and not cap and w not in _PARTICLES:
            break
        if (
            count > 0
            and not cap
            and w not in _PARTICLES
            and w not in family_names()
            and w not in given_names()
            and _INFLECTED.search(w)
        ):
            break
        if count == 0:
            first_cap = cap
        kept_end = m.start() + len(raw.rstrip("'\u2019-"))
        count += 1
    if count == 0:
        return None
    return start, start + kept_end


_NAME_CAP = r"[A-Z][a-z'\u2019-]+"
# "Pt: Lewis, Trevor" / "Name: Smith, John Q."
_INVERTED = re.compile(
    rf"\b(?:pt|patient|name|patient\s+name|resident|member|subscriber|guarantor|insured)\s*:\s*"
    rf"(?P<name>{_NAME_CAP},[ \t]*{_NAME_CAP}(?:[ \t]+[A-Z]\.?)?)(?![a-z])",
    re.IGNORECASE,
)
# "PATIENT: KRISTA WHITE" (forms and headers are often upper-case)
_CAPS_FIELD = re.compile(
    # Longer labels first: "PT NAME JANE ROE" is the label "PT NAME", not "PT" and a name "NAME JANE ROE".
    r"\b(?:(?:PATIENT|PT|CLIENT|MEMBER|RESIDENT)[ ](?:FULL[ ])?NAME|PATIENT|PT|NAME|RESIDENT|MEMBER|"
    r"SUBSCRIBER|GUARANTOR|INSURED|CLIENT|RE|ATTN)"
    r"(?P<colon>\s*:\s*|[ \t]+)"
    r"(?P<name>[A-Z][A-Z'-]+(?:[ ][A-Z]\.?)?"
    r"(?:[ ](?!(?:MRN|DOB|SSN|ID|DOS|MR|AGE|SEX|DX)\b)[A-Z][A-Z'-]+){1,2})"
    r"(?![A-Za-z])"
)
# "Chelsea Price, DO", "Jane Q. Doe MD"
_CREDENTIAL = re.compile(
    rf"(?P<name>{_NAME_CAP}(?:[ \t]+[A-Z]\.)?(?:[ \t]+{_NAME_CAP}){{1,2}}),?[ \t]+"
    r"(?:MD|M\.D\.|DO|D\.O\.|RN|NP|PA-C|PA|DDS|DMD|PhD|LPN|CNA|MSW|LCSW|PharmD|FNP|FNP-C|APRN|DNP|"
    r"CRNA|RPh|DPM|OD|MBBS|FACP|FACC)(?![A-Za-z])(?![ \t]*\d{5})"  # "…, PA 19104" is a state
)
# "signed by", "seen by", ...: the name follows "by"
_BY = re.compile(
    rf"\b(?:signed|seen|examined|dictated|referred|authored|reviewed|transcribed|attested|evaluated|"
    rf"treated|prescribed|ordered|co-signed|cosigned)\s+by[ \t:]+(?:dr\.?[ \t]+)?(?P<name>{_NAME_CAP}"
    rf"(?:[ \t]+[A-Z]\.)?(?:[ \t]+{_NAME_CAP}){{0,2}})"
)
# "christina franco speaking", "yes, mark young here"
_BEFORE_VERB = re.compile(
    rf"(?:^|[.!?:]\s+|\b(?:hi|hello|hey|yes|yeah|yep|uh|um|oh)[ \t,]+)(?P<name>{_WORD}(?:[ \t]+{_WORD})?)"
    r"[ \t,]+(?:speaking|here|calling|on\s+the\s+line)\b",
    re.IGNORECASE | re.MULTILINE,
)
_BEFORE_VERB_LC = lowercase_variant(_BEFORE_VERB)
_VERB_AFTER_NAME = re.compile(r"[ \t,](?:speaking|here|calling|on\s+the\s+line)\b")  # in Doc.lower
# A name spelled out right after it: "smith s m i t h"
_SPELLED = re.compile(r"(?:[ \t,]+(?:that's|thats|it's|its|spelled)?[ \t,]*(?:[a-zA-Z](?:[ \t.,-]+|$)){3,})")


def _extend_spelled(text: str, start: int, end: int) -> tuple[int, int]:
    m = _SPELLED.match(text, end)
    if m is None:
        return start, end
    letters = _NOT_LETTER.sub("", m.group())
    spelled = _SPELLED_LEAD.sub("", letters.lower())
    name = _NOT_LOWER.sub("", text[start:end].lower())
    # Keep the spelling only when it spells (part of) the name just said.
    if len(spelled) >= 3 and (spelled in name or name.endswith(spelled) or spelled.startswith(name[-3:])):
        return start, m.end() - (len(m.group()) - len(m.group().rstrip(" \t.,-")))
    return start, end


class CueNameRecognizer(Recognizer):
    name = "name_cue"

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        text = doc.text
        lower = doc.lower
        gated = doc.gated
        # (regex, text to run it over): the lower-case variants only on the gated path, whose
        # findings the tests compare with the plain one. Groups are always read from ``text``.
        fast = gated and doc.ascii
        title_lower = (_TITLE_LOWER_LC, lower) if fast else (_TITLE_LOWER, text)
        strong = (_STRONG_LC, lower) if fast else (_STRONG, text)
        weak_cue = (_WEAK_LC, lower) if fast else (_WEAK, text)
        before_verb = (_BEFORE_VERB_LC, lower) if fast else (_BEFORE_VERB, text)
        # (regex, tag, gate, words one of which every match holds, words every match starts with and
        # whether they are case-sensitive)
        for rx, recognizer, gate, needles, leads, cased in (
            (_INVERTED, "name_inverted", ":", _COMMA, _INVERTED_WORDS, False),
            (_CAPS_FIELD, "name_field", "", _FIELD_WORDS, _FIELD_WORDS, True),
            (_CREDENTIAL, "name_credential", "", _CREDENTIAL_WORDS, (), True),
            (_BY, "name_by", " by", (), _BY_WORDS, True),
        ):  # fmt: skip
            if gate and gate not in lower:
                continue
            if (
                gated
                and needles
                and not (
                    doc.found(_CREDENTIAL_GATE) if needles is _CREDENTIAL_WORDS else doc.text_has_any(needles)
                )
            ):
                continue
            starts = None
            if gated and leads:
                starts = doc.text_word_starts(leads) if cased else doc.word_starts(leads)
            for m in finditer_from(rx, text, starts):
                start, end = m.span("name")
                first = text[start:end].split()[0].strip(",").lower()
                if first in _FUNCTION or first in CLINICAL_WORDS:
                    continue
                # A caps header without a colon ("PATIENT EDUCATION PROVIDED") is a heading unless it
                # opens with a given name or ends with a family name, and no word of it is vocabulary.
                if recognizer == "name_field" and (
                    ":" not in m.group("colon") or text[m.start() : m.start("colon")] in ("RE", "ATTN")
                ):
                    field_words = text[start:end].lower().split()
                    named = field_words[0] in given_names() or field_words[-1] in family_names()
                    if not named or any(
                        _known_word(w) or w in CLINICAL_WORDS or w in LABEL_AND_PAYER_WORDS
                        for w in field_words
                    ):
                        continue
                out.append(Finding(start, end, Entity.PERSON, 0.9, recognizer))
        if fast:
            hits = [(m.start(), m.group()) for m in _LEADS.finditer(lower)]
            title_at = [p for p, w in hits if w in _TITLE_LEADS]
            titles_at = [p for p, w in hits if w in _TITLE_LOWER_LEADS]
            strong_at = [p for p, w in hits if w in _STRONG_LEADS]
            weak_at = [p for p, w in hits if w in _WEAK_LEADS]
            title_matches: Iterable[re.Match[str]] = finditer_at(_TITLE, text, title_at)
            titles_lower: Iterable[re.Match[str]] = finditer_at(_TITLE_LOWER_LC, lower, titles_at)
            strongs: Iterable[re.Match[str]] = finditer_at(_STRONG_LC, lower, strong_at)
            weaks: Iterable[re.Match[str]] = finditer_at(_WEAK_LC, lower, weak_at)
        else:
            title_matches = (
                finditer_from(_TITLE, text, doc.text_word_starts(_TITLE_WORDS))
                if gated
                else _TITLE.finditer(text)
            )
            titles = not gated or doc.has_any(_TITLE_LOWER_WORDS)
            titles_lower = finditer_from(*title_lower, None) if titles else ()
            cues = not gated or doc.has_any(_STRONG_WORDS)
            strongs = strong[0].finditer(strong[1]) if cues else ()
            weaks = weak_cue[0].finditer(weak_cue[1])
        for m in title_matches:
            span = _name_tokens(m.start("name"), m.group("name"), strict=False)
            if span:
                out.append(Finding(*span, Entity.PERSON, 0.85, "name_title"))
        for m in titles_lower:
            # "the nurse line", "miss the bus": lower-case nurse/miss are everyday words, so a known
            # given name must follow; "doctor patel" needs no list.
            title = text[m.start() : m.start("name")].strip().lower().rstrip(".")
            strict = title in ("nurse", "miss")
            span = _name_tokens(m.start("name"), text[m.start("name") : m.end("name")], strict=strict)
            if span:
                out.append(Finding(*span, Entity.PERSON, 0.7, "name_title"))
        for m in strongs:
            cue = text[m.start() : m.start("name")].lower()
            # "patient" / "called" / "thanks" are only cues when a capitalised or known name follows.
            # These cues are everyday words too ("per protocol", "spoke with the team"): a capitalised or
            # known given name must follow.
            weak = any(
                w in cue
                for w in (
                    "patient", "called", "named", "thanks", "regards", "sincerely", "signed", "pt", "per",
                    "spoke", "accompanied", "brought", "known", "aka", "nicknamed",
                )
            )  # fmt: skip
            span = _name_tokens(m.start("name"), text[m.start("name") : m.end("name")], strict=weak)
            if span:
                capitalised = text[span[0]].isupper()
                score = 0.86 if capitalised else (0.8 if not weak else 0.65)
                out.append(Finding(*_extend_spelled(text, *span), Entity.PERSON, score, "name_cue"))
        for m in weaks:
            value = text[m.start("name") : m.end("name")]
            span = _name_tokens(m.start("name"), value, strict=True)
            score = 0.7
            if span is None and _SELF_INTRO.search(text, m.start(), m.start("name")):
                span = _unknown_pair(text, m.start("name"), value)
                score = 0.6
            elif span is None and _RELATION.search(text, m.start(), m.start("name")):
                span = _unknown_single(text, m.start("name"), value)
                score = 0.6
            if span:
                out.append(Finding(*_extend_spelled(text, *span), Entity.PERSON, score, "name_cue"))
        has_verb = "speaking" in lower or "here" in lower or "calling" in lower or "on the line" in lower
        if has_verb and fast:  # the verb, as ``_BEFORE_VERB`` needs it, after a space or comma
            has_verb = _VERB_AFTER_NAME.search(lower) is not None
        for m in before_verb[0].finditer(before_verb[1]) if has_verb else ():
            words = list(_WORD_RX.finditer(text[m.start("name") : m.end("name")]))
            if words and not any(_known_word(w.group()) for w in words):
                out.append(Finding(*m.span("name"), Entity.PERSON, 0.65, "name_cue"))
        return out


# Cues where a speaker introduces themselves; only these license two unknown lower-case words as a
# name ("this is mark young"). After "my wife," the words are as likely a description.
_SELF_INTRO = re.compile(r"\b(?:this\s+is|i'm|i\s+am|it's|im|speaking\s+with|talking\s+to)\b", re.I)


# Cues naming a relative or someone spoken to: one word the lexicon lacks may be the name itself
# ("my mom ricki is coming", "talked to brynlee yesterday").
_RELATION = re.compile(
    r"\b(?:wife|husband|son|daughter|mother|father|mom|dad|brother|sister|partner|caregiver|grandson|"
    r"granddaughter|grandmother|grandfather|aunt|uncle|niece|nephew|friend|neighbor|neighbour|fiance|"
    r"fiancee|boyfriend|girlfriend|child|cousin|guardian|talking\s+to|talked\s+(?:to|with)|talk\s+to|"
    r"speak\s+(?:to|with)|speaking\s+with|ask\s+for|asked\s+for)\b[ \t,]*$",
    re.I,
)


def _unknown_single(text: str, start: int, value: str) -> tuple[int, int] | None:
    """After a relation cue, one lower-case word the lexicons do not know, that does not look like a
    verb or an adverb, and is followed by the end, a pause or a function or verb word, is a name."""
    words = list(_WORD_RX.finditer(value))
    if not words:
        return None
    raw = words[0].group()
    w = _fold(raw)
    if not raw.islower() or len(w) < 3 or not w.isalpha() or _known_word(raw) or w in PLAIN_VERBS_AND_ADVERBS:
        return None
    if w in SERVICE_WORDS or w in LABEL_AND_PAYER_WORDS or _INFLECTED.search(w):
        return None
    end = start + words[0].end()
    if len(words) > 1 and text[end : start + words[1].start()].strip(" \t") == "":
        after = _fold(words[1].group())
        if not (_known_word(after) or after in PLAIN_VERBS_AND_ADVERBS or _INFLECTED.search(after)):
            return None  # "my son ajax toy": two unknown words are a description, not a name
    return start, end


_SPEAKING_WITH = re.compile(r"(?:speaking|talking)\s+(?:with|to)\s+$", re.I)


def _known_word(word: str) -> bool:
    """In the lexicon of non-names, after folding case, apostrophes and a possessive."""
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    return w in _NOT_NAME or w in _FUNCTION or len(w) < 2


def _unknown_pair(text: str, start: int, value: str) -> tuple[int, int] | None:
    """Words the lexicon does not know after a weak cue: two of them ("this is mark young and …")
    read as first + last name; one only when a call-centre verb follows ("this is kowalski calling")."""
    words = list(_WORD_RX.finditer(value))
    for n in (2, 1):
        if len(words) < n or any(_known_word(w.group()) for w in words[:n]):
            continue
        end = start + words[n - 1].end()
        if n == 2 or _CALL_VERB.match(text, end) or _SPEAKING_WITH.search(text, max(0, start - 20), start):
            return start, end
    return None
