"""`helm test` for a Masker release: the proxy answers /health, and one redaction round trip works.

Runs in the proxy image (stdlib only). The round trip goes through a `masker serve` started here
with the built-in echo upstream (so no LLM is called and no credentials are needed) and the
release's NER service: a synthetic name and phone number must be absent from what the echo
upstream received and come back to the caller unchanged. Prints one line per check; exit 1 on
the first failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

AGENT_ID = "agt_01HHTESTAGENT0000000000000"
SAID = "Hi, this is Maria Delgado, my number is 415-555-0142."
SECRETS = ("Maria Delgado", "415-555-0142")


def fail(message):
    print("FAIL " + message, flush=True)
    sys.exit(1)


def request(url, body=None, timeout=10.0):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"{}")


def wait_healthy(url, seconds):
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, _ = request(url, timeout=3)
            if status == 200:
                return
            last = f"status {status}"
        except (OSError, ValueError) as exc:
            last = type(exc).__name__
        time.sleep(1)
    fail(f"{url} did not answer 200 within {seconds}s ({last})")


def main():
    wait_healthy(os.environ["MASKER_TEST_PROXY_URL"].rstrip("/") + "/health", 60)
    print("ok   release proxy /health", flush=True)

    work = tempfile.mkdtemp(prefix="masker-helm-test-")
    agents = os.path.join(work, "agents.yaml")
    with open(agents, "w") as fh:
        fh.write(f"version: 1\nagents:\n  - {{id: {AGENT_ID}, name: helm-test, redaction_metadata: false}}\n")
    port = os.environ.get("MASKER_TEST_LOCAL_PORT", "18080")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_OPENAI")}
    env.update(
        {
            "MASKER_LISTEN_ADDR": "127.0.0.1:" + port,
            "MASKER_DATA_DIR": os.path.join(work, "data"),
            "MASKER_AGENTS_FILE": agents,
        }
    )
    log = open(os.path.join(work, "serve.log"), "wb")  # noqa: SIM115  closed after the server stops
    proc = subprocess.Popen([sys.executable, "-m", "masker", "serve"], env=env, stdout=log, stderr=log)
    try:
        base = "http://127.0.0.1:" + port
        wait_healthy(base + "/health", 120)
        status, reply = request(
            f"{base}/proxy/{AGENT_ID}/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": SAID}]},
            timeout=60,
        )
        received = json.dumps((reply.get("echo_upstream") or {}).get("received"))
        if status != 200 or received == "null":
            fail(f"round trip: status {status}, no echo_upstream.received")
        if any(value in received for value in SECRETS):
            fail("round trip: the upstream received a synthetic name or phone number")
        if reply["choices"][0]["message"]["content"] != SAID:
            fail("round trip: the caller did not get the original text back")
        print("ok   redaction round trip (upstream saw tokens, caller got the original)", flush=True)
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


if __name__ == "__main__":
    main()
