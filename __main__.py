"""app-secrets: config in, components out, outputs exported (see stack_program/program.py)."""

from stack_program.program import run

run()
