"""Ways to reach a person: e-mail, phone, fax, URL, IP address."""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar

from ..recognizer import Doc, Pattern, PatternRecognizer
from ..types import Entity
from ..validators import digits_of, ipv4_ok

IGNORE = re.IGNORECASE

_TLDS = (
    "com|org|net|edu|gov|mil|int|io|co|us|uk|ca|de|fr|info|biz|me|health|care|clinic|app|dev|ai|"
    "example|test|invalid|localhost|ly|tv|xyz|online|site|med|hospital|nhs"
)


class EmailRecognizer(PatternRecognizer):
    """Any syntactically valid address; reserved TLDs (.example, .test, .invalid) included on purpose.

    The local part takes RFC 5322's characters but ``|``, ``=``, ``{`` and ``}``: in real text those
    separate fields (HL7, CSV and markdown rows, ``key=value``, templates), and read as part of an
    address they carried the field before it (a phone's last digits) into the e-mail's span.
    """

    name = "email"
    ENTITY = Entity.EMAIL
    triggers = ("@",)
    PATTERNS = (
        Pattern(
            "addr-spec",
            r"(?<![\w.+-])[A-Za-z0-9!#$%&'*+/?^_`~-]+(?:\.[A-Za-z0-9!#$%&'*+/?^_`~-]+)*"
            r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])",
            0.95,
        ),
    )


# "(at)", "[at]", "{at}", "<at>" and "(dot)" written to dodge address harvesters, and an "@" with
# spaces around it ("jane.roe @ gmail.com").
# A line break may sit next to the "@" (a wrapped line), and dots may be spaced ("jane . roe").
_AT = r"(?:[ \t]*\r?\n?[ \t]*@[ \t]*\r?\n?[ \t]*|[ \t]*[(\[{<][ \t]*at[ \t]*[)\]}>][ \t]*)"
_DOT = r"(?:\.|[ \t]\.[ \t]|[ \t]*[(\[{<][ \t]*dot[ \t]*[)\]}>][ \t]*)"
_LOCAL = r"[^\W_][\w%+-]*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"


class ObfuscatedEmailRecognizer(PatternRecognizer):
    """E-mail addresses written so that naive patterns miss them."""

    name = "email_obfuscated"
    ENTITY = Entity.EMAIL
    triggers = ("(at)", "[at]", "{at}", "<at>", " @", "@ ", "( at )", "[ at ]", "\n@", "@\n")
    PATTERNS = (
        Pattern(
            "written-out",
            rf"(?<![\w.+-]){_LOCAL}(?:{_DOT}{_LOCAL})*{_AT}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[a-z]{{2,24}}(?![\w-])",
            0.9,
            flags=IGNORE,
            lowercase=True,
        ),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        # A plain address is the other recognizer's; this one needs a disguise to report.
        return "@" not in value or " " in value or "\t" in value or "\n" in value


class PhoneRecognizer(PatternRecognizer):
    """NANP and international numbers; reported as FAX when "fax" is said just before."""

    name = "phone"
    ENTITY = Entity.PHONE
    needs_digits = True
    min_digits = 7  # ``validate`` wants 7-15 digits
    CONTEXT = (
        "phone", "call", "called", "calling", "cell", "mobile", "tel", "telephone", "number", "reach",
        "contact", "text", "fax", "callback", "call back", "home", "work", "pager", "ph", "dial",
        "landline", "whatsapp",
    )  # fmt: skip
    CONTEXT_BOOST = 0.3
    CONTEXT_AFTER = 20  # "… is my cell"
    PATTERNS = (
        Pattern(
            "nanp-grouped",
            # Glued to a word on either side ("Call512-447-7781now", "…-4959-Fax", "cell:512…"), but
            # not to more digits; a separator may be followed by a line break ("374.455.\n1194").
            r"(?<![\d+_])(?:(?:\+?1|001)[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-]{1,2}|\d{3}/(?=\d{3}[.-]))\d{3}(?:[.-]\s?|\s)\d{4}"
            r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?![\d_]|-\d)",
            0.7,
            flags=IGNORE,
            gate=r"\d\d\d[\s.-]\s?\d{4}",  # not ``\d{3}``: a leading repeat defeats ``re``'s quick scan
            lowercase=True,
            run=1,
            starts=("+", "("),
        ),
        # Ten NANP-valid digits in a row: a phone number is the likeliest reading (just above the
        # generic long-number rule; any labelled identifier outranks it).
        Pattern(
            "nanp-plain",
            r"(?<![\w+])(?:\+?1)?[2-9]\d{2}[2-9]\d{6}(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?!\d)",
            0.56,
            flags=IGNORE,
            min_run=10,
            lowercase=True,
            run=10,
            starts=("+",),
        ),
        # Seven digits said as a local number ("my phone is five five five one two three four").
        Pattern("local-plain", r"(?<![\w+-])\d{7}(?![\w-])", 0.3, needs_context=True, run=7),
        # "area code 772 and then 296 1387" (spoken, once normalised)
        Pattern(
            "area-code",
            r"\barea\s+code\s+(?:is\s+)?(?P<p>\d{3}[\s,.-]*(?:(?:and|then|the\s+number\s+is|number)[\s,]+){0,3}"
            r"\d{3}[\s.-]?\d{4})(?!\d)",
            0.9,
            group="p",
            flags=IGNORE,
            words=("area",),
            starts=("area",),
            lowercase=True,
        ),
        # Said as a phone number but not NANP-shaped (misheard digit, foreign number): context decides.
        Pattern(
            "digits-with-context",
            r"(?<![\w+-])\d{10,11}(?![\w-])",
            0.3,
            needs_context=True,
            run=10,
        ),
        # Ten digits in any grouping ("379434-7947" once a spoken number is normalised), with context.
        Pattern(
            "regrouped-with-context",
            r"(?<![\w+-])(?=(?:\d[\s.-]?){9}\d(?![\w-]))(?:\d[\s.-]?){9}\d(?![\w-])",
            0.3,
            needs_context=True,
            run=1,
        ),
        Pattern(
            "international",
            r"(?<![\w+])\+(?:[2-9]\d{0,2}|1)[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,5}){2,4}(?!\d)",
            0.7,
            gate=r"\+",
            starts=("+",),
        ),
        Pattern("seven-digit", r"(?<![\w-])\d{3}-\d{4}(?![\w-])", 0.2, needs_context=True, run=3),
        # A national number in its country's own grouping ("(0306) 9990074", "030 1234 5678",
        # "46/364 8597", "0612 34 56 78"): any grouping of 7-15 digits, when a phone word is near.
        Pattern(
            "national-with-context",
            # (the lookaheads want seven digits before any work, and leave NANP shapes to the patterns
            # above: most digit runs are not national phones)
            r"(?<![\w+/.-])(?=\(?(?:\d[ /().-]{0,3}){6}\d)(?!\(?\d{3}\)?[ .-]{1,2}\d{3}[ .-]\d{4}(?!\d))"
            r"\(?\d{1,8}\)?(?:[ /.-]{1,2}\(?\d{1,8}\)?){1,5}"
            r"(?![\w/-]|\.\d)",
            0.3,
            needs_context=True,
            run=1,
            starts=("(",),
        ),
    )
    _fax = re.compile(r"(?<![a-z])fax")

    _extension = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d{1,5}$", re.IGNORECASE)

    def validate(self, value: str, *, context: bool) -> bool:
        # An extension always has an "x" (no other character matches x or X case-insensitively).
        d = digits_of(self._extension.sub("", value) if "x" in value or "X" in value else value)
        if d.startswith("001"):
            d = d[3:]
        return 7 <= len(d) <= 15 and len(set(d)) > 1

    def entity_for(self, doc: Doc, start: int, end: int) -> Entity:
        if self._fax.search(doc.lower, max(0, start - 24), start):  # bounded: not a whole-text scan
            return Entity.FAX
        return Entity.PHONE


class VanityPhoneRecognizer(PatternRecognizer):
    """A phone number whose last seven digits are spelled as keypad letters ("1-800-FLOWERS",
    "(888) GET-WELL"): too few digits for the phone recognizer's prefilter."""

    name = "phone_vanity"
    ENTITY = Entity.PHONE
    needs_digits = True
    min_digits = 3
    requires = r"\d(?:[.-]|\)\s?)[A-Z0-9]{0,2}[A-Z][A-Z0-9]"  # the pattern's gate, answered by the multi-scan
    PATTERNS = (
        Pattern(
            "vanity",
            # (with the leading 1, a toll-free area code or the 3-4 grouping: "Room 412-BEDSIDE" is not one)
            r"(?<![\w+])(?:\+?1[\s.-]?(?:\([2-9]\d\d\)\s?|[2-9]\d\d[.-])(?=(?:[0-9-]{0,8}[A-Z]){3})[A-Z0-9]{3}-?[A-Z0-9]{4,5}"
            r"|(?:\(8(?:00|33|44|55|66|77|88)\)\s?|8(?:00|33|44|55|66|77|88)[.-])"
            r"(?=(?:[0-9-]{0,8}[A-Z]){3})[A-Z0-9]{3}-?[A-Z0-9]{4,5}"
            r"|(?:\([2-9]\d\d\)\s?|[2-9]\d\d[.-])(?=(?:[0-9-]{0,8}[A-Z]){3})[A-Z0-9]{3}-[A-Z0-9]{4})(?![\w-])",
            0.7,
            gate=r"\d(?:[.-]|\)\s?)[A-Z0-9]{0,2}[A-Z][A-Z0-9]",
        ),
    )


class UrlRecognizer(PatternRecognizer):
    name = "url"
    ENTITY = Entity.URL
    triggers = ("http", "www", ".", "://")
    # ``://|www\.|\.(?:tlds)`` led by one class, which ``re`` scans for far faster than a branch.
    requires = rf"[:.](?:(?<=:)//|(?<=www\.)|(?<=\.)(?:{_TLDS}))"
    requires_flags = IGNORE
    PATTERNS = (
        Pattern(
            "scheme",
            r"\b(?:https?|ftp)://[^\s<>\"'()\[\]{}]+[^\s<>\"'()\[\]{}.,;:!?]",
            0.95,
            flags=IGNORE,
            gate="://",
            lowercase=True,
        ),
        Pattern(
            "www",
            r"(?<![\w@.])www\.[^\s<>\"'()\[\]{}]+[^\s<>\"'()\[\]{}.,;:!?]",
            0.9,
            flags=IGNORE,
            words=("www.",),
            lowercase=True,
        ),
        Pattern(
            "bare-domain",
            rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})"
            r"(?:/[^\s<>\"'()\[\]{}]*[^\s<>\"'()\[\]{}.,;:!?])?(?![\w@-])",
            0.6,
            flags=IGNORE,
            gate=rf"\.(?=[a-z])(?:{_TLDS})",  # the lookahead drops a full stop before a space
            lowercase=True,
        ),
    )


class IpAddressRecognizer(PatternRecognizer):
    name = "ip"
    ENTITY = Entity.IP_ADDRESS
    triggers = (".", ":")
    requires = r"[\d:](?:(?<=\d)\.\d|(?<=:)[0-9a-f]{0,4}:)"  # ``\d\.\d|:[0-9a-f]{0,4}:``, quick to scan
    requires_flags = IGNORE
    CONTEXT = ("ip", "address", "server", "host", "logged in from", "connected")
    PATTERNS = (
        # (a port after it is part of the address as written: "10.2.3.4:8080")
        Pattern(
            "ipv4",
            r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5}(?!\d))?(?!\w|\.\d)",
            0.6,
            gate=r"\d\.\d",
            run=1,
        ),
        Pattern(
            "ipv6-port",
            r"\[(?P<a>[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})\](?::\d{1,5})?",
            0.6,
            flags=IGNORE,
            gate=r":[0-9a-f]{0,4}:",
            lowercase=True,
        ),
        Pattern(
            "ipv6",
            r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])",
            0.6,
            flags=IGNORE,
            gate=r":[0-9a-f]{0,4}:",
            lowercase=True,
        ),
    )
    _MAC: ClassVar[re.Pattern[str]] = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$", IGNORE)

    def validate(self, value: str, *, context: bool) -> bool:
        if value.startswith("["):
            value = value[1 : value.index("]")]
        if "." in value and value[:1].isdigit():
            return ipv4_ok(value.split(":", 1)[0])
        if self._MAC.match(value):  # a MAC address is a device id, not an IP
            return False
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return False
        return True
