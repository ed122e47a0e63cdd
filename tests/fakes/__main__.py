"""`python -m tests.fakes`: both stand-ins in a process of their own, for the benchmark.

Prints one JSON line with their URLs, then serves until stdin closes or the process is ended.
"""

from __future__ import annotations

import contextlib
import json
import sys

from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.slack import FakeSlack


def main() -> None:
    slack, browser_use = FakeSlack().start(), FakeBrowserUse().start()
    print(json.dumps({"slack": slack.url, "browser_use": browser_use.url}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()
    slack.stop()
    browser_use.stop()


if __name__ == "__main__":
    main()
