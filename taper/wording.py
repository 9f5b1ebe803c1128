"""How the findings made now name a parameter of the library.

A finding that tells the clinician what they could change names a parameter. By default it
is said in the library's own words, as a notebook user would write it (``max_units``,
``at_low_doses='liquid'``). A caller with words of its own makes its plans while
:func:`speaking` them: the command line its flags (``--max-units``, ``--at-low-doses
liquid``, by :data:`taper.flags.FLAGS`), a roster its columns, so that the exports each
writes say what its user types. The errors say parameters the same way, each where it is
rendered (:meth:`taper.errors.TaperError.render`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

_NAMES: ContextVar[Mapping[str, str]] = ContextVar("taper_names", default=MappingProxyType({}))


@contextmanager
def speaking(names: Mapping[str, str]) -> Iterator[None]:
    """Within the block, findings say each parameter by ``names`` (a parameter not in it by
    the library's own name)."""
    token = _NAMES.set(MappingProxyType(dict(names)))
    try:
        yield
    finally:
        _NAMES.reset(token)


def words() -> tuple[tuple[str, str], ...]:
    """The names findings are made with now, as a key (for what caches a finding's text)."""
    return tuple(sorted(_NAMES.get().items()))


def option(name: str, value: object = None, metavar: str = "") -> str:
    """Parameter ``name``, with ``value`` given to it if any, as the findings made now say it;
    ``metavar`` stands for a value to give, where a flag is said (``--formulary FILE``).

    >>> option("max_units"), option("at_low_doses", "liquid"), option("halve", ["tab-2"])
    ('max_units', "at_low_doses='liquid'", "halve=['tab-2']")
    >>> with speaking({"at_low_doses": "--at-low-doses", "halve": "--halve"}):
    ...     option("at_low_doses", "liquid"), option("halve", ["tab-2", "odt-1"])
    ('--at-low-doses liquid', '--halve tab-2 --halve odt-1')
    """
    flag = _NAMES.get().get(name)
    if flag is None:
        return name if value is None else f"{name}={value!r}"
    if value is None:
        return f"{flag} {metavar}" if metavar else flag
    values = value if isinstance(value, list | tuple) else [value]
    return " ".join(f"{flag} {v}" for v in values)
