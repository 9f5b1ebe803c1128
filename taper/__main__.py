"""``python -m taper``."""

from .cli import main

main()
