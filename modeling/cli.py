"""`run_script`: runs a script's ``main()`` and turns a user error into one line and exit code 2.

A user error is a `ValueError` or `FileNotFoundError` (a bad flag, a missing file, a damaged
checkpoint): the scripts raise them with a message that names the problem and the fix, and a
traceback in front of that message only hides it. ``TWO_TOWER_DEBUG=1`` in the environment keeps
the full traceback. `positive_int` and `non_negative_int` are argparse types that check counts
before anything loads. Deliberately left out: catching anything else (a bug keeps its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

DEBUG_ENV = "TWO_TOWER_DEBUG"
USER_ERRORS = (ValueError, FileNotFoundError)
USER_ERROR_EXIT_CODE = 2  # argparse's exit code for a bad command line


def run_script(main: Callable[[], object]) -> None:
    """Calls ``main()``; a user error prints ``error: <message>`` on stderr and exits with 2.

    Args:
        main: The script's entry point, called without arguments.
    """
    try:
        main()
    except USER_ERRORS as err:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        print(f"error: {err}", file=sys.stderr)
        print(f"(set {DEBUG_ENV}=1 for the traceback)", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT_CODE)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, so a bad count fails before anything is loaded."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value
