"""Policy actions as mirror operators: one object per action, ``anonymize`` and ``deanonymize``.

The same objects serve both directions. On a request, ``anonymize`` replaces a value the caller
sent (a ``TokenSession`` issues tokens). On an answer, response scanning calls ``anonymize`` for a
value the *model* wrote, with no session: a token could never be resolved for anyone, so
``tokenize`` becomes the speakable fallback phrase there. ``deanonymize`` turns a token in an
answer back into the value — only ``tokenize`` (and the token shield) can, and only for tokens in
the request's ``AnswerTokens``; every other action is one-way and leaves its output as it is.

The token shield is not a policy action: it wraps token-shaped text the caller typed (found by the
one token grammar, any case or spacing) in a token of its own, so the answer gives back exactly the
text the caller sent and never the value some other request's token stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .detect.types import LABELS, Entity, Finding
from .policy import Action, Policy
from .tokens.codec import Codec, TokenSession
from .tokens.grammar import TokenMatch, format_token
from .tokens.rehydrate import AnswerTokens, fallback_phrase

SHIELD = "token-shield"  # the recognizer name of a shield finding


@dataclass(frozen=True, slots=True)
class Replacement:
    text: str
    token: str | None = None  # the token body, when a token was issued


class Operator:
    """One policy action. Subclasses override ``anonymize`` (and ``deanonymize`` if reversible)."""

    action: ClassVar[Action]

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        """What ``value`` becomes on its way out; None keeps it. ``session`` is None on answers."""
        raise NotImplementedError

    async def deanonymize(self, token: TokenMatch, tokens: AnswerTokens) -> str | None:
        """The value behind ``token`` in an answer; None: this action cannot restore anything."""
        return None


class Tokenize(Operator):
    action = Action.TOKENIZE

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        if session is None:
            return Replacement(fallback_phrase(LABELS[entity]))
        body = session.token_body(entity, value)
        return Replacement(format_token(LABELS[entity], body, identifier=identifier), body)

    async def deanonymize(self, token: TokenMatch, tokens: AnswerTokens) -> str | None:
        return await tokens.restore(token)


class TokenShield(Tokenize):
    """Tokenize regardless of policy (see the module docstring)."""


class Keep(Operator):
    action = Action.KEEP

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        return None


class Mask(Operator):
    action = Action.MASK

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        return Replacement("***")


class Placeholder(Operator):
    action = Action.PLACEHOLDER

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        return Replacement(f"<{LABELS[entity]}>")


class Hash(Operator):
    action = Action.HASH

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        return Replacement(codec.hash_value(value))


class Drop(Operator):
    action = Action.DROP

    def anonymize(
        self,
        entity: Entity,
        value: str,
        *,
        codec: Codec,
        session: TokenSession | None,
        identifier: bool = False,
    ) -> Replacement | None:
        return Replacement("")


OPERATORS: dict[Action, Operator] = {
    op.action: op for op in (Tokenize(), Keep(), Mask(), Placeholder(), Hash(), Drop())
}
TOKEN_SHIELD = TokenShield()


def operator_for(policy: Policy, finding: Finding) -> Operator:
    """The operator that applies to ``finding`` under ``policy`` (shields are not subject to it)."""
    if finding.recognizer == SHIELD:
        return TOKEN_SHIELD
    return OPERATORS[policy.action_for(finding.entity)]


__all__ = [
    "OPERATORS",
    "SHIELD",
    "TOKEN_SHIELD",
    "Operator",
    "Replacement",
    "operator_for",
]
