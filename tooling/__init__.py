"""The repository's tooling around the stack program: the offline runtime (`offline`: Pulumi's mock
runtime with AWS-shaped mocks), the plan / validate rendering (`plan`), `env` / `exec` (`envcmd`), the
consumer manifests (`consumers`: ECS, External Secrets, CSI, dsops) and the command line (`cli`,
run as `python -m components ...`).
"""
