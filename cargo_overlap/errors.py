"""cargo-overlap's exit codes, and the error a command raises to end with one.

Every command raises a :class:`UserError` (or a subclass) for what the user can fix;
``cli.main`` alone turns it into one line on stderr and its exit code. This module is the
bottom layer but one: it imports only ``printable`` of the package, and ``enum`` (already loaded by
``re`` and ``signal``), because `build` imports it before cargo starts.
"""

from __future__ import annotations

from enum import IntEnum

from cargo_overlap.printable import printable


class ExitCode(IntEnum):
    """Every exit code of cargo-overlap's own (a build otherwise passes cargo's through).

    The signal codes are 128 + the signal's number, as a shell reports them (Linux
    numbering: SIGHUP 1, SIGINT 2, SIGPIPE 13, SIGTERM 15).
    """

    OK = 0
    # `suggest`: nothing to merge
    NOTHING = 1
    # the app's event source failed with an unexpected error (a bug: shown in the app)
    FAILED = 1
    # bad usage or input: options, files, a failed build where one must succeed
    USAGE = 2
    # cargo not found, or it cannot say its version
    NO_CARGO = 3
    # `build --baseline --max-regression`: a good build slower than the baseline allows
    REGRESSION = 4
    # cargo's own code for a failed build: `build` passes it through, and `import`
    # assumes it for a failed build's -Zbuild-analysis log, which does not record it
    CARGO_FAILED = 101
    SIGHUP = 129
    # SIGINT (Ctrl-C), or a `q` that stopped the build in the app
    INTERRUPTED = 130
    # the reader of stdout went away (`| head`) in a command other than `build`
    BROKEN_PIPE = 141
    SIGTERM = 143

    @classmethod
    def for_signal(cls, signum: int) -> ExitCode:
        """The code for ending on signal ``signum`` (SIGHUP, SIGINT, SIGPIPE or SIGTERM)."""
        return cls(128 + signum)


class UserError(Exception):
    """Something the user can fix; the message is one line, printed by ``cli.main`` after
    ``cargo-overlap: error: ``, and the process exits with :attr:`exit_code`.

    A subclass sets its own code as a class attribute; one raise can override it.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def error_line(message: str) -> str:
    """``message`` as cargo-overlap reports an error: one line, for stderr.

    Messages quote input (a path, a name, a line of a file): what a terminal would act on,
    a line break included, is shown escaped (printable.py).
    """
    return f"cargo-overlap: error: {printable(message)}\n"


def warning_line(message: str) -> str:
    """``message`` as cargo-overlap warns: one line for stderr, shown as :func:`error_line`
    shows an error's."""
    return f"cargo-overlap: warning: {printable(message)}\n"
