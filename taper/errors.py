"""The one error hierarchy of taper.

Every error names the field it concerns, what was given and what is allowed,
and builds its one-line message in ``__str__``. Each subclass is also the
matching builtin, so callers may catch ``ValueError`` or ``LookupError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: a parameter named inside an error's text, ``{max_units}``: said as the library's name
#: (``max_units``), or as the command line's flag where it renders the error
_NAMED = re.compile(r"\{([a-z_]+)\}")


class TaperError(Exception):
    """Base of every error taper raises on purpose.

    Parameters
    ----------
    field
        The input the error concerns, by the library's name for it (``dose``, ``every``,
        ``max_units``...).
    given
        What was given, as the user wrote it.
    allowed
        What would have been accepted, in plain words; another parameter it names is written
        ``{per_day}``, so that each caller can say it in its own words (:meth:`render`).
    hint
        An optional suggestion (``did you mean ...?``), written as ``allowed``.
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
        return self.render({})

    def render(self, names: Mapping[str, str]) -> str:
        """The one-line message, each parameter said by ``names`` (the command line's flags,
        say) or else by the library's own name."""
        text = f"{_name(self.field, names)}: got {_given(self.given)}; {_said(self.allowed, names)}"
        return f"{text} ({_said(self.hint, names)})" if self.hint else text


#: the most of a value an error line repeats (a pasted file or a number of thousands of digits
#: is said by its start and its length)
SHOWN = 100


def _given(given: object) -> str:
    """What was given, quoted as written; a very long text by its start and its length."""
    text = given if isinstance(given, str) else None
    if text is None or len(text) <= SHOWN:
        return repr(given)
    return f"{text[:40]!r}... ({len(text):,} characters)"


def _name(field: str, names: Mapping[str, str]) -> str:
    """A field said by ``names``: a parameter's name, or a braced ``{drug}`` where a plain
    ``drug`` means the thing (a drug named in a file) and the braced one the parameter."""
    return names.get(field, field.strip("{}"))


def _said(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each ``{parameter}`` in it said by ``names``."""
    return _NAMED.sub(lambda m: names.get(m[0], names.get(m[1], m[1])), text)


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

    #: how to go on, where the error may be overridden; a caller may say it otherwise by
    #: giving ``names`` a ``"how to override"`` (a roster row, which carries no overrides)
    HOW = 'to plan anyway, give {overrides} {code}="reason"'

    def __init__(self, code: str, message: str, more: int, overridable: bool) -> None:
        self.more, self.overridable = more, overridable
        super().__init__(code, message, self._how({}, code))

    def _how(self, names: Mapping[str, str], code: str) -> str:
        if self.overridable:
            how = names.get("how to override", self.HOW).replace("{code}", code)
        else:
            how = "this cannot be overridden"
        more = self.more
        extra = f" ({more} more error{'s' if more > 1 else ''} after it)" if more else ""
        return _said(how, names) + extra

    def render(self, names: Mapping[str, str]) -> str:
        return f"{self.field}: {self.given} {self._how(names, self.field)}"


class RosterError(InputError):
    """A roster file (``taper batch``), or one row of it, cannot be read.

    ``field`` names the file or the row's part, ``allowed`` says what is wrong and what
    would do; the message is ``FIELD: ALLOWED``.
    """

    def __init__(self, field: str, allowed: str) -> None:
        super().__init__(field, "", allowed)

    def render(self, names: Mapping[str, str]) -> str:
        return f"{_name(self.field, names)}: {_said(self.allowed, names)}"
