"""A second proxy process for the shared-vault test: ``write`` tokenizes values and flushes them to
the PostgreSQL vault; ``resolve`` resolves tokens from the vault alone (a cold codec, no memory of
who wrote them). JSON on stdin, JSON on stdout.

    python vault_peer.py write|resolve <database-url> <agent-id> <conversation>
"""

from __future__ import annotations

import asyncio
import json
import sys

from masker.detect.types import Entity
from masker.tokens.codec import Codec
from masker.tokens.grammar import find_tokens
from masker.tokens.store import PostgresStore
from tests.tokens.conftest import make_ring


async def main(action: str, url: str, agent: str, conversation: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        codec = Codec(agent, make_ring("K2", "K1"), store=store)
        items = json.loads(sys.stdin.read())
        session = codec.session(conversation)
        if action == "write":
            tokens = [session.tokenize(Entity(entity), value) for entity, value in items]
            await session.flush()
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
