"""cProfile an agentctl command by CPU time (not wall time: the machine is shared).

    .venv/bin/python tests/bench/profile_cli.py OUT.prof [--top 40] -- eval run SUITE --db ...

Prints the top functions by cumulative CPU time of the main thread.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time


def main() -> None:
    sep = sys.argv.index("--")
    out, rest = sys.argv[1], sys.argv[sep + 1 :]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv[:sep] else 40
    from agentctl.main import app

    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        app(rest, standalone_mode=False)
    except SystemExit:
        pass
    finally:
        prof.disable()
        prof.dump_stats(out)
        pstats.Stats(out, stream=sys.stderr).sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    main()
