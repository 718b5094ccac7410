"""A second proxy process for the shared-vault tests: ``write`` tokenizes values and flushes them to
the vault in one batch, ``turns`` flushes them one per turn (a conversation's rhythm: many small
writes, which SQLite makes on the event loop); ``resolve`` resolves tokens from the vault alone (a
cold codec, no memory of who wrote them). JSON on stdin, JSON on stdout.

    python vault_peer.py write|turns|resolve <database-url> <agent-id> <conversation>
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from masker.detect.types import Entity
from masker.tokens.codec import Codec
from masker.tokens.grammar import find_tokens
from masker.tokens.store import store_from_url
from tests.tokens.conftest import make_ring


async def main(action: str, url: str, agent: str, conversation: str) -> None:
    store = store_from_url(url)
    await store.open()
    try:
        codec = Codec(agent, make_ring("K2", "K1"), store=store)
        items = json.loads(sys.stdin.read())
        session = codec.session(conversation)
        if action == "write":
            tokens = [session.tokenize(Entity(entity), value) for entity, value in items]
            await session.flush()
            print(json.dumps(tokens))
        elif action == "turns":  # {"start_at": epoch seconds, "items": [...]}: peers start together
            tokens = []
            for i, (entity, value) in enumerate(items["items"]):
                turn = codec.session(conversation)
                tokens.append(turn.tokenize(Entity(entity), value))
                await turn.flush()
                if i == 0:  # the conversation's data key now exists: from here on, plain row writes
                    await asyncio.sleep(max(0.0, items["start_at"] - time.time()))
            print(json.dumps(tokens))
        else:
            values = []
            for token in items:
                (match,) = find_tokens(token)
                values.append(await session.resolve(match.body) if match.body else None)
            print(json.dumps(values))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
