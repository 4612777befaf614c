"""Allow ``python -m gir_core.cli``."""

from gir_core.cli import main

main()
