"""app-secrets: config in, components out, outputs exported (see components/program.py)."""

from components.program import run

run()
