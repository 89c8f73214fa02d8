"""Start Pulumi plugins as the engine does, as separate processes, and talk to them over gRPC.

Dynamic providers: the engine runs `pulumi-resource-pulumi-python`, a shell script the Pulumi CLI
ships (pulumi/pulumi sdk/python/dist/pulumi-resource-pulumi-python; it is not in the `pulumi`
wheel on PyPI, so it is not on this machine). What it runs is reproduced here, not copied:
- no PULUMI_RUNTIME_VIRTUALENV but PULUMI_RUNTIME_TOOLCHAIN=uv → the virtualenv is `.venv`
  (script lines 4-11), made absolute against the working directory (lines 13-21);
- the virtualenv's `bin` goes first on PATH, PYTHONHOME is unset, and
  `$VIRTUALENV/bin/python -u -m pulumi.dynamic <engine address>` runs (lines 23-33);
- without a virtualenv option: `${PULUMI_PYTHON_CMD:-python3} -u -m pulumi.dynamic` (line 49).
The engine sets PULUMI_RUNTIME_<OPTION> for every runtime option of Pulumi.yaml, PULUMI_PROJECT
and PULUMI_CONFIG (the `pulumi-python:` keys as JSON), and starts the plugin in the program's
directory with the engine's address as its argument (pkg/resource/plugin/provider_plugin.go:
244-266 and 291-294; pkg/host/host.go, Provider). The plugin prints its port on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Mapping, Optional

ENGINE_ADDRESS = "127.0.0.1:1"   # the plugin only passes it on; no call is made to it here


def dynamic_provider_launch(program_dir: Path, runtime_options: Mapping[str, str], project: str,
                            config_json: str = "{}", base_env: Optional[Mapping[str, str]] = None
                            ) -> tuple[list[str], dict[str, str]]:
    """(argv, env) of the dynamic provider process for a program in `program_dir`."""
    env = dict(os.environ if base_env is None else base_env)
    env.pop("PYTHONPATH", None)   # the engine's environment, not pytest's
    for option, value in runtime_options.items():
        env[f"PULUMI_RUNTIME_{option.upper()}"] = str(value)
    env["PULUMI_PROJECT"] = project
    env["PULUMI_CONFIG"] = config_json
    virtualenv = env.get("PULUMI_RUNTIME_VIRTUALENV") or (".venv" if env.get("PULUMI_RUNTIME_TOOLCHAIN") == "uv" else "")
    if virtualenv:
        venv = Path(virtualenv.rstrip("/"))
        venv = venv if venv.is_absolute() else program_dir / venv
        env["PATH"] = f"{venv}/bin:{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
        python = str(venv / "bin" / "python")
    else:
        python = env.get("PULUMI_PYTHON_CMD", "python3")
    return [python, "-u", "-m", "pulumi.dynamic", ENGINE_ADDRESS], env


class PluginProcess:
    """A plugin process; `port` once it printed one, else `output` says why it stopped."""

    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 60):
        self.process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()   # the port, or "" when it died
        self.port: Optional[int] = int(line.strip()) if line.strip().isdigit() else None
        self.output = ""
        if self.port is None:
            try:
                _, err = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, err = self.process.communicate()
            self.output = line + (err or "")

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Stop it (this process only) and return what it wrote to stderr (once)."""
        if self.process.stderr is None or self.process.stderr.closed:
            return ""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        err = self.process.stderr.read() if self.process.stderr else ""
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        return err


def runtime_options(pulumi_yaml: Mapping) -> dict[str, str]:
    runtime = pulumi_yaml.get("runtime")
    options = runtime.get("options") if isinstance(runtime, Mapping) else None
    return {str(k): str(v) for k, v in (options or {}).items()}


def config_json_for(namespace: str, stack_config: Mapping[str, object]) -> str:
    """PULUMI_CONFIG: the config keys of the plugin's own namespace, by name (pkg/host/host.go)."""
    return json.dumps({k.split(":", 1)[1]: v for k, v in stack_config.items() if k.split(":", 1)[0] == namespace})


def run_async(coroutine):
    """Run a coroutine on a loop of its own. Unlike asyncio.run, this leaves the thread's current
    event loop alone: the offline runs later in the same test process rely on it."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
