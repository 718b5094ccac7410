"""Credentials pasted into a conversation: cloud keys, VCS and chat tokens, private keys, bearer
tokens and ``api_key=...`` style assignments. Formats follow the vendors' documented prefixes."""

from __future__ import annotations

import re

from ..recognizer import Doc, Pattern, PatternRecognizer
from ..types import Entity

IGNORE = re.IGNORECASE
# A credential's key name, also inside a longer identifier in any case convention ("twilioAuthToken",
# "STRIPE_SECRET_KEY", "db.password", "x-api-key"): the name may start anywhere in the identifier.
_KEY_NAME = (
    r"(?i:(?<![A-Za-z0-9])[A-Za-z0-9_.-]{0,40}?(?:api[_-]?key|apikey|api[_-]?secret|access[_-]?token|"
    r"auth[_-]?token|secret[_-]?key|client[_-]?secret|private[_-]?key|refresh[_-]?token|"
    r"session[_-]?token|signing[_-]?key|webhook[_-]?secret|password|passwd|passphrase|pwd|token|secret)"
    r"(?:[_-]?(?:value|str|string))?)"
)
# Where a key-name match can start: every key name holds one of these words, at most _KEY_LEAD
# characters after the start of the identifier (40 of prefix, then "webhook_" before "secret").
_KEY_WORDS = ("key", "token", "secret", "passw", "passphrase", "pwd")
_KEY_LEAD = 48
_AWS_PREFIXES = (
    "a3t",
    "akia",
    "asia",
    "abia",
    "acca",
    "agpa",
    "aida",
    "aroa",
    "aipa",
    "anpa",
    "anva",
    "apka",
)


class SecretRecognizer(PatternRecognizer):
    name = "secret"
    ENTITY = Entity.SECRET
    # Every pattern below contains one of these (lower-cased); text with none skips them all.
    triggers = (
        "akia", "asia", "abia", "acca", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "apka", "a3t",
        "secret", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "hooks.slack",
        "sk-", "sk_", "rk_", "pk_", "aiza", "ya29.", "sg.", "npm_", "pypi-", "eyj", "private key",
        "bearer", "://", "key", "token", "password", "passwd", "pwd", "basic", "hf_", "shp", "_v1_",
        "sq0", "xapp-", ":aa",
    )  # fmt: skip
    PATTERNS = (
        Pattern(
            "aws-access-key",
            r"(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])",
            0.95,
            starts=_AWS_PREFIXES,
        ),
        Pattern(
            "aws-secret-assign",
            r"(?i:aws_?secret(?:_?access)?_?key)\W{0,4}(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
            0.95,
            group="v",
            starts=("aws",),
        ),
        Pattern(
            "github",
            r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9_]{30,255}|github_pat_[A-Za-z0-9_]{22,255})",
            0.95,
            starts=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        ),
        Pattern("gitlab", r"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20,}", 0.95, starts=("glpat-",)),
        Pattern("slack", r"(?<![A-Za-z0-9])xox[abposr]-(?:[0-9]+-)*[A-Za-z0-9-]{6,}", 0.95, starts=("xox",)),
        Pattern(
            "slack-webhook",
            r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
            0.95,
            starts=("https://hooks.slack.com",),
        ),
        Pattern(
            "openai",
            r"(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|ant-(?:api\d{2}-)?)?[A-Za-z0-9_-]{20,}",
            0.9,
            starts=("sk-",),
        ),
        Pattern(
            "stripe",
            r"(?<![A-Za-z0-9])(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
            0.95,
            starts=("sk_", "rk_", "pk_"),
        ),
        Pattern("google-api", r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}", 0.95, starts=("aiza",)),
        Pattern("google-oauth", r"(?<![A-Za-z0-9])ya29\.[0-9A-Za-z_-]{20,}", 0.9, starts=("ya29.",)),
        Pattern(
            "sendgrid", r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", 0.95, starts=("sg.",)
        ),
        Pattern("npm", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}", 0.95, starts=("npm_",)),
        Pattern("pypi", r"(?<![A-Za-z0-9])pypi-[A-Za-z0-9_-]{50,}", 0.95, starts=("pypi-",)),
        Pattern(
            "jwt",
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            0.95,
            starts=("eyj",),
        ),
        Pattern(
            "pem-private-key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
            0.99,
            flags=re.S,
            starts=("-----begin",),
        ),
        Pattern(
            "bearer", r"(?i:\bbearer)\s+(?P<v>[A-Za-z0-9._~+/=-]{16,})", 0.9, group="v", starts=("bearer",)
        ),
        Pattern(
            "basic-auth",
            r"(?i:\bbasic)\s+(?P<v>[A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])",
            0.85,
            group="v",
            starts=("basic",),
        ),
        Pattern("huggingface", r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}", 0.95, starts=("hf_",)),
        Pattern("shopify", r"(?<![A-Za-z0-9_])shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", 0.95, starts=("shp",)),
        Pattern(
            "digitalocean",
            r"(?<![A-Za-z0-9_])do[opr]_v1_[a-f0-9]{64}",
            0.95,
            starts=("doo_v1_", "dop_v1_", "dor_v1_"),
        ),
        Pattern("square", r"(?<![A-Za-z0-9_])sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}", 0.95, starts=("sq0",)),
        Pattern("mailgun", r"(?<![A-Za-z0-9_])key-[0-9a-f]{32}(?![A-Za-z0-9])", 0.9, starts=("key-",)),
        Pattern("slack-app", r"(?<![A-Za-z0-9])xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", 0.95, starts=("xapp-",)),
        Pattern(
            "azure-storage",
            r"(?i:accountkey)=(?P<v>[A-Za-z0-9+/]{40,}={0,2})",
            0.95,
            group="v",
            starts=("accountkey",),
        ),
        Pattern("telegram-bot", r"(?<![\d:])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])", 0.9, run=8),
        Pattern(
            "basic-auth-url", r"(?i:\b[a-z][a-z0-9+.-]*://)[^\s:/@]+:(?P<v>[^\s@/]{3,})@", 0.97, group="v"
        ),
        Pattern(
            "assignment",
            rf"{_KEY_NAME}(?:\"|')?\s*(?::|=|=>|\bis\b)\s*(?:\"|')?(?P<v>(?=[A-Za-z0-9_\-./+=!@#$%^&*]*[0-9_\-/+=!@#$%^&*])[A-Za-z0-9_\-./+=!@#$%^&*]{{8,}})",
            0.85,
            group="v",
            starts=_KEY_WORDS,
            lead=_KEY_LEAD,
        ),
        # A quoted value under a credential's key name ("twilioAuthToken": "…", password='…'): the
        # key name is the only clue, and a quoted value may be letters only.
        Pattern(
            "quoted-assignment",
            rf"{_KEY_NAME}[\"']?\s*(?::|=|=>)\s*(?P<q>[\"'])(?P<v>[^\s\"']{{6,200}})(?P=q)",
            0.85,
            group="v",
            starts=_KEY_WORDS,
            lead=_KEY_LEAD,
        ),
    )


class TwilioSidRecognizer(PatternRecognizer):
    """Twilio API key / account SIDs: no lower-case trigger to gate on, but always hex digits."""

    name = "secret"
    ENTITY = Entity.SECRET
    needs_digits = True
    requires = "SK|AC"
    PATTERNS = (Pattern("twilio", r"(?<![A-Za-z0-9])(?:SK|AC)[0-9a-f]{32}(?![A-Za-z0-9])", 0.85),)

    def prefilter(self, doc: Doc) -> bool:
        return "SK" in doc.text or "AC" in doc.text
