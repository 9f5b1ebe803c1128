"""The one error hierarchy of taper.

Every error names the field it concerns, what was given and what is allowed,
and builds its one-line message in ``__str__``. Each subclass is also the
matching builtin, so callers may catch ``ValueError`` or ``LookupError``.
"""

from __future__ import annotations


class TaperError(Exception):
    """Base of every error taper raises on purpose.

    Parameters
    ----------
    field
        The input the error concerns (``dose``, ``--every``, ``catalog``...).
    given
        What was given, as the user wrote it.
    allowed
        What would have been accepted, in plain words.
    hint
        An optional suggestion (``did you mean ...?``).
    """

    #: exit code of the CLI: 2 for a usage error, 1 for a refused plan
    exit_code = 2

    def __init__(self, field: str, given: object, allowed: str, hint: str = "") -> None:
        super().__init__(field, given, allowed, hint)
        self.field = field
        self.given = given
        self.allowed = allowed
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.field}: got {self.given!r}; {self.allowed}"
        return f"{text} ({self.hint})" if self.hint else text


class InputError(TaperError, ValueError):
    """A value given by the user cannot be read or is out of bounds."""


class UnknownNameError(TaperError, LookupError):
    """A drug, product, preset or other name is not in the catalog."""


class CatalogError(TaperError, ValueError):
    """A catalog or protocol file is malformed."""


class PlanRefused(TaperError):
    """The inputs are well formed but no safe plan can be made from them."""

    exit_code = 1


class FindingsRefused(PlanRefused):
    """A check found errors the clinician has not overridden.

    ``field`` is the first error's code, ``given`` its message (with its source),
    and ``allowed`` how to go on.
    """

    def __init__(self, code: str, message: str, more: int, overridable: bool) -> None:
        if overridable:
            how = f'to plan anyway, give --override {code}="reason"'
        else:
            how = "this cannot be overridden"
        extra = f" ({more} more error{'s' if more > 1 else ''} after it)" if more else ""
        super().__init__(code, message, how + extra)

    def __str__(self) -> str:
        return f"{self.field}: {self.given} {self.allowed}"


class RosterError(InputError):
    """A roster file (``taper batch``), or one row of it, cannot be read.

    ``field`` names the file or the row's part, ``allowed`` says what is wrong and what
    would do; the message is ``FIELD: ALLOWED``.
    """

    def __init__(self, field: str, allowed: str) -> None:
        super().__init__(field, "", allowed)

    def __str__(self) -> str:
        return f"{self.field}: {self.allowed}"
