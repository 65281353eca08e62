"""recorder: not built yet (the DAgger loop issue fills it in).

The entry point exists so the package layout, launch files and install space are final;
running it says so plainly and exits non-zero rather than pretending to work.
"""

import sys


def main() -> None:
    print(f"[{__name__}] not implemented yet (see the DAgger loop issue)", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
