"""``admodes`` command line (``python -m admodes``).

Commands: ``demo`` (the default) differentiates the course's graph both ways;
``report [--quick|--full] [--out DIR]`` measures forward vs reverse mode and writes the
report (see :mod:`admodes.bench.report`).
"""

from __future__ import annotations

import argparse
import sys


def demo():
    """Differentiate the course's graph e = (a + b)(b + 1) at a=2, b=1 both ways."""
    import admodes as ad

    def e(a, b):
        return (a + b) * (b + 1)

    rev = ad.grad(e, argnums=(0, 1))(2.0, 1.0)
    fwd = ad.grad(e, argnums=(0, 1), mode="forward")(2.0, 1.0)
    print("e = (a + b) * (b + 1) at a = 2, b = 1:  e =", e(2.0, 1.0))
    print(f"  reverse mode: de/da = {rev[0]:g}, de/db = {rev[1]:g}")
    print(f"  forward mode: de/da = {fwd[0]:g}, de/db = {fwd[1]:g}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "report":
        from .bench.report import main as report_main
        return report_main(argv[1:])
    parser = argparse.ArgumentParser(prog="admodes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="differentiate the (a+b)(b+1) graph both ways")
    sub.add_parser("report", help="measure forward vs reverse mode, write reports/ "
                                  "(--quick | --full, --out DIR)")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        demo()
        return 0
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
