"""Where text lives in one API's bodies: one module per API shape, each the only walker of its shape.

Every stage that reads or rewrites what the caller or the upstream wrote — request redaction,
response scanning, whole and streamed rehydration — asks the request's ``Shape`` for the positions
of text and never walks a body itself. A position is a ``Slot``: a string value, a dictionary key or
a JSON number, with the container and key to write a replacement back to.

A shape yields *every* string, key and number of a body except a closed, documented list of
positions that are protocol vocabulary, each validated by value (a ``role`` that is not one of the
known roles is text like any other). A new API (Responses, Anthropic Messages) is one new module
implementing ``Shape``; the stages do not change.

What a replacement does to a position's type: a key stays a key (its text replaced); a string stays
a string; a JSON number whose text holds PHI becomes a *string* (the token or mask in its place).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Hashable, Mapping, MutableMapping, MutableSequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import BadRequest, Unprocessable


class Kind(enum.Enum):
    VALUE = "value"  # a string value
    KEY = "key"  # a dictionary key
    NUMBER = "number"  # a JSON number (int or float; never a bool), scanned as its JSON text


Container = MutableMapping[str, Any] | MutableSequence[Any]


@dataclass(slots=True)
class Slot:
    """One text position. ``container[key]`` holds it (for a ``KEY``, ``key`` is the key itself)."""

    container: Container
    key: Any
    text: str
    role: str = "field"  # who wrote it: a message role, "field" for other request fields, "answer"
    kind: Kind = Kind.VALUE
    identifier: bool = False  # a function/tool name: replacements must stay valid identifiers
    json: bool = False  # the text is a JSON document (tool arguments): insertions are JSON-escaped
    verbatim: bool = False  # must reach the upstream unchanged (``model``): PHI here is refused
    # Answers only. ``stream``: the growing text a stream chunk continues (None: whole in this
    # event). ``prose``: written by the model as its answer (response scanning looks only there;
    # ids, model names and the like are only rehydrated).
    stream: Hashable | None = None
    prose: bool = False


class Texts:
    """A walked body: its slots in order, and how to put replacements back."""

    __slots__ = ("conversation", "documents", "newest", "slots", "want")

    def __init__(self, want: Callable[[str], bool] | None = None) -> None:
        self.slots: list[Slot] = []
        # Answers: which whole texts are worth a slot (None: all); growing texts always are.
        self.want = want
        # Request only: slots[:conversation] are the conversation's texts — a system prompt or
        # instructions held outside the messages first, then the messages or input items (the memo
        # signs them); slots from the newest message on start at ``newest``.
        self.conversation = 0
        self.newest = 0
        # (container, key, holder): a JSON string walked as the parsed ``holder["v"]``;
        # re-serialised into ``container[key]`` once its slots are replaced, innermost first.
        self.documents: list[tuple[Container, Any, dict[str, Any]]] = []

    def add(
        self,
        container: Container,
        key: Any,
        text: str,
        kind: Kind = Kind.VALUE,
        *,
        json: bool = False,
        stream: Hashable | None = None,
        prose: bool = False,
    ) -> None:
        """An answer's text position, unless ``want`` declines a whole text."""
        if stream is None and self.want is not None and not self.want(text):
            return
        self.slots.append(Slot(container, key, text, "answer", kind, json=json, stream=stream, prose=prose))

    def apply(self, replacements: list[tuple[Slot, str]]) -> None:
        """Write ``(slot, new text)`` pairs back: values and numbers in place, then keys renamed
        (each renamed dictionary keeps its order), then JSON documents re-serialised."""
        if not replacements and not self.documents:
            return
        renames: dict[int, tuple[MutableMapping[str, Any], dict[str, str]]] = {}
        for slot, text in replacements:
            if slot.kind is Kind.KEY:
                mapping: MutableMapping[str, Any] = slot.container  # type: ignore[assignment]
                renames.setdefault(id(mapping), (mapping, {}))[1][slot.key] = text
            else:
                slot.container[slot.key] = text
        for mapping, names in renames.values():
            items = [(names.get(k, k), v) for k, v in mapping.items()]
            mapping.clear()
            mapping.update(items)
        for container, key, holder in self.documents:
            container[key] = json.dumps(holder["v"], ensure_ascii=False)


class Shape(Protocol):
    """One API's bodies. Implementations are stateless and shared."""

    name: str

    def request(self, body: dict[str, Any], *, non_text_parts: str, max_messages: int) -> Texts:
        """Validate a request body (``BadRequest``/``Unprocessable`` on a malformed one), apply the
        policy's ``non_text_parts`` choice, and return every text position of it."""
        ...

    def answer(self, body: Any, *, want: Callable[[str], bool] | None = None) -> Texts:
        """Every string and key of a whole answer (completion, error body) that ``want`` accepts
        (None: all): all are rehydrated; ``prose`` marks the ones response scanning reads."""
        ...

    def event(
        self, event: dict[str, Any], *, everything: bool = True, want: Callable[[str], bool] | None = None
    ) -> Texts:
        """Every string and key of one stream event; a slot whose text continues across events
        carries its ``stream`` key. ``everything=False``: only those growing texts (the event's
        raw JSON shows no token anywhere, so only a token split across events can concern it)."""
        ...

    def ended(self, event: dict[str, Any]) -> Callable[[Hashable], bool] | None:
        """None when ``event`` ends no growing text (most events); else whether it ends a given
        stream key (what that stream held back is then flushed into this event)."""
        ...

    def put_tail(self, event: dict[str, Any], stream: Hashable, tail: str) -> None:
        """Append ``tail`` (text held back from earlier events) to ``stream``'s position in
        ``event``, creating the position if the event does not have it."""
        ...

    def is_empty(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` carries nothing but empty texts (all of it held back): not sent."""
        ...

    def tail_event(self, template: dict[str, Any], streams: list[Hashable]) -> dict[str, Any]:
        """A new, empty event (from the first event's ``template``) able to carry the tails of
        ``streams`` when the upstream ended without a finishing event for them."""
        ...


def number_text(value: int | float) -> str:
    """A JSON number as the text a detector reads (what the caller wrote, for ints and most
    floats)."""
    return str(value)


@dataclass(frozen=True)
class Vocabulary:
    """An API's closed list of request positions that are not text, each checked by value."""

    keys: frozenset[str]  # a key spelled exactly like one of these (a field name) is not text
    enums: Mapping[str, frozenset[str]]  # the value of such a key, when one of these, is not text
    id_keyed: frozenset[str] = frozenset()  # under these keys, decimal ids (1-6 digits) as keys
    verbatim: frozenset[str] = frozenset()  # top-level fields that cannot be rewritten (routing)
    skip: frozenset[str] = frozenset()  # top-level fields the shape walks itself (messages)
    documents: frozenset[str] = frozenset({"arguments"})  # strings holding JSON: walked parsed
    identifiers: frozenset[str] = frozenset({"name"})  # replacements must stay identifiers


_ID_DIGITS = 6
_CONTAINERS = (dict, list)


class RequestWalker:
    """Every string, key and number under the nodes it is given, minus ``vocabulary``'s list.
    Shapes call ``walk`` on the parts of a request in the order the memo should see them."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.out = Texts()
        self.slots = self.out.slots

    def walk(self, node: Any, role: str, enum: frozenset[str] | None = None, *, top: bool = False) -> None:
        # Strings first: nearly every value is one.
        slots = self.slots
        vocabulary = self.vocabulary
        if isinstance(node, dict):
            keys, enums, documents = vocabulary.keys, vocabulary.enums, vocabulary.documents
            for key, value in node.items():
                if top and key in vocabulary.skip:
                    continue
                if key not in keys:
                    slots.append(Slot(node, key, key, role, Kind.KEY))
                if isinstance(value, str):
                    if top and key in vocabulary.verbatim:
                        slots.append(Slot(node, key, value, role, verbatim=True))
                        continue
                    allowed = enums.get(key)
                    if allowed is not None and value in allowed:
                        continue
                    if key in documents:
                        self._document(node, key, value, role)
                    else:
                        slots.append(Slot(node, key, value, role, identifier=key in vocabulary.identifiers))
                elif isinstance(value, _CONTAINERS):
                    if key in vocabulary.id_keyed and isinstance(value, dict):
                        self._id_keyed(value, role)
                    else:
                        self.walk(value, role, enums.get(key))
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    slots.append(Slot(node, key, number_text(value), role, Kind.NUMBER))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if enum is not None and value in enum:
                        continue
                    slots.append(Slot(node, index, value, role))
                elif isinstance(value, _CONTAINERS):
                    self.walk(value, role)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    slots.append(Slot(node, index, number_text(value), role, Kind.NUMBER))

    def _id_keyed(self, node: dict[str, Any], role: str) -> None:
        """A map keyed by tokenizer ids (``logit_bias``): such keys are vocabulary, others text."""
        for key, value in node.items():
            if not (key.isascii() and key.isdigit() and len(key) <= _ID_DIGITS):
                self.slots.append(Slot(node, key, key, role, Kind.KEY))
            self._value(node, key, value, role)

    def _value(self, node: dict[str, Any], key: str, value: Any, role: str) -> None:
        if isinstance(value, str):
            self.slots.append(Slot(node, key, value, role))
        elif isinstance(value, _CONTAINERS):
            self.walk(value, role)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self.slots.append(Slot(node, key, number_text(value), role, Kind.NUMBER))

    def _document(self, node: dict[str, Any], key: str, value: str, role: str) -> None:
        """A JSON document in a string (tool-call arguments): walked parsed, keys and numbers
        included, and re-serialised by ``Texts.apply``; text when it is not JSON."""
        try:
            parsed = json.loads(value)
        except ValueError:
            self.slots.append(Slot(node, key, value, role))
            return
        if isinstance(parsed, str):
            self.slots.append(Slot(node, key, value, role))
            return
        holder = {"v": parsed}
        self.walk(holder, role)
        self.out.documents.append((node, key, holder))


def walk_all(node: Any, out: Texts, *, keys: frozenset[str] = frozenset(), prose: bool = False) -> None:
    """Every string and key under ``node`` but keys spelled like one of ``keys`` (field names:
    fixed words, no token): how answers are rehydrated."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in keys:
                out.add(node, key, key, Kind.KEY, prose=prose)
            if isinstance(value, str):
                out.add(node, key, value, json=key == "arguments", prose=prose)
            elif isinstance(value, (dict, list)):
                walk_all(value, out, keys=keys, prose=prose)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str):
                out.add(node, index, value, prose=prose)
            elif isinstance(value, (dict, list)):
                walk_all(value, out, keys=keys, prose=prose)


def scannable_parts(
    parts: list[Any],
    *,
    text: frozenset[str],
    non_text_parts: str,
    param: str,
    noun: str,
    examples: str,
    is_text: Callable[[dict[str, Any]], bool] | None = None,
) -> list[Any]:
    """The content parts of ``parts`` that go upstream: every text part (its ``type`` in ``text``,
    or one ``is_text`` accepts: a part of another type whose payload is plain text), and the others
    as the policy's ``non_text_parts`` says (``reject`` refuses the request, ``forward`` keeps them,
    anything else drops them): what cannot be scanned never passes unless allowed."""
    kept: list[Any] = []
    for part in parts:
        if not isinstance(part, dict):
            raise BadRequest(f"Each {noun} must be an object.", param=param)
        kind = part.get("type")
        # An unhashable "type" must not raise here.
        if (isinstance(kind, str) and kind in text) or (is_text is not None and is_text(part)):
            kept.append(part)
            continue
        if non_text_parts == "reject":
            raise Unprocessable(
                f"Non-text {noun}s ({examples}) cannot be scanned for PHI; this policy rejects them.",
                code="unsupported_content",
                param=param,
            )
        if non_text_parts == "forward":
            kept.append(part)
    return kept


__all__ = [
    "Container",
    "Kind",
    "RequestWalker",
    "Shape",
    "Slot",
    "Texts",
    "Vocabulary",
    "number_text",
    "scannable_parts",
    "walk_all",
]
