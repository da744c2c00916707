"""The local fake of Twilio's Messages API (``tests/fakes/twilio_server.py``), in its own process.

    python -m bench.fake_twilio_process ACCOUNT_SID AUTH_TOKEN

Prints its base URL as the first line of standard output, then answers commands read from
standard input, one a line: ``count`` prints the messages accepted and the requests received
(``accepted attempts``); ``stop``, or the end of the input, stops the server. A benchmark runs it
apart from its driver so the server's threads compete with nobody's interpreter lock: real
Twilio is another machine, and this process's CPU is reported on its own.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.twilio_server import FakeTwilio


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    account_sid, auth_token = argv
    # The parent decides when to stop (its interrupt reaches the whole process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fake = FakeTwilio(account_sid=account_sid, auth_token=auth_token).start()
    try:
        print(fake.base_url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "count":
                print(f"{len(fake.messages)} {fake.attempts}", flush=True)
            elif command == "stop":
                break
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
