"""`python -m components <command>`: the repository's command line (see tooling/cli.py).

`components/` holds the component library (`components/app_secrets`); this file only keeps the
familiar entry point. It is not part of the installed package.
"""

from tooling.cli import run

run()
