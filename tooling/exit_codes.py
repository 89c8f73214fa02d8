"""The one exit-code table of every command (README "Exit codes")."""

EXIT_OK = 0        # ok
EXIT_FAILED = 1    # a failure while running (AWS refused or unreachable, the program failed)
EXIT_INVALID = 2   # bad input: the command line, Pulumi.yaml, a stack file or its config
EXIT_FAIL_ON = 3   # a --fail-on condition was met
