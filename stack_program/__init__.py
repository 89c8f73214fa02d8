"""The stack program: stack config -> validated settings -> components -> stack outputs.

`schema` (the config checker), `config` (settings), `project` (Pulumi.yaml and stack files),
`program` (`run()`, called by the top-level `__main__.py`).
"""
