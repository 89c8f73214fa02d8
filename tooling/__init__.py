"""The repository's tooling around the stack program: the offline runtime (`offline`: Pulumi's mock
runtime with AWS-shaped mocks), plan / validate / `--against` (`plan`, `stack_plan`, `against`,
`diff`, `review`), policy evaluation (`access`), `env` / `exec` (`envcmd`), the stack files' JSON
Schema (`stack_schema`) and the command line (`cli`, run as `python -m components ...`).
Nothing here is imported by the stack program or the library.
"""
