"""The component package (`provider/`) as a real plugin process, driven over gRPC.

How the Python language host runs a plugin with a `__main__.py` (pulumi/pulumi
sdk/python/cmd/pulumi-language-python/main.go, RunPlugin): through the plugin's toolchain
(PulumiPlugin.yaml: uv, `.venv`), which first runs `uv sync --inexact` in the plugin's folder
(sdk/python/toolchain/uv.go, Command), then `<venv>/bin/python <plugin dir> <engine address>`
in the consumer's working directory. The plugin prints its port.

gRPC calls exercised: GetPluginInfo, GetSchema (equals tests/snapshots/package-schema.json) and
Construct of every component, with this test's own ResourceMonitor and Engine servers recording
what the component registers and answering its data-source invokes (with the offline plan's
stand-in values, tooling/offline.py AwsMocks). None of the registrations may be a dynamic
resource: a consumer of the package could not run it (test_dynamic_provider_process.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import (engine_pb2, engine_pb2_grpc, provider_pb2, provider_pb2_grpc, resource_pb2,
                                  resource_pb2_grpc)

from tests.plugin_process import PluginProcess, run_async
from tests.test_package import CONSTRUCT_CASES
from tooling import urns
from tooling.offline import AwsMocks

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = ROOT / "provider"
SNAPSHOT = Path(__file__).parent / "snapshots" / "package-schema.json"
FEATURES = {"secrets", "resourceReferences"}   # what this monitor supports (SupportsFeature)


class RecordingMonitor(resource_pb2_grpc.ResourceMonitorServicer, engine_pb2_grpc.EngineServicer):
    """The engine's side of a Construct: registrations recorded, invokes answered."""

    def __init__(self, project: str, stack: str):
        self.project, self.stack = project, stack
        self.mocks = AwsMocks()
        self.registrations: list[resource_pb2.RegisterResourceRequest] = []
        self.invokes: list[str] = []
        self.lock = threading.Lock()

    def SupportsFeature(self, request, context):
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in FEATURES)

    def Invoke(self, request, context):
        args = rpc.deserialize_properties(request.args)
        with self.lock:
            self.invokes.append(request.tok)
            result = self.mocks.call(pulumi_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        return provider_pb2.InvokeResponse(**{"return": run_async(rpc.serialize_properties(result, {}))})

    def RegisterResource(self, request, context):
        urn = urns.make(self.stack, self.project, request.parent or None, request.type, request.name)
        with self.lock:
            self.registrations.append(request)
        if not request.custom:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = rpc.deserialize_properties(request.object)
        with self.lock:
            id_, state = self.mocks.new_resource(pulumi_mocks.MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                resource_id=request.importId, custom=True))
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=id_ or "", object=run_async(rpc.serialize_properties(state, {})))

    def RegisterResourceOutputs(self, request, context):
        return empty_pb2.Empty()

    def Log(self, request, context):
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request, context):
        return engine_pb2.SetRootResourceResponse()


@pytest.fixture(scope="module")
def plugin_python() -> Path:
    """The plugin's own virtualenv, made by the toolchain's step (uv.go, Command)."""
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.fail("uv is needed to build the plugin's environment (make setup puts it in .tools/bin)")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    import fcntl
    import tempfile

    # pytest-xdist workers share provider/.venv: one sync at a time.
    with open(Path(tempfile.gettempdir()) / "app-secrets-provider-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run([uv, "sync", "--inexact", "--quiet"], cwd=PLUGIN_DIR, env=env,
                                capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return PLUGIN_DIR / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def engine():
    monitor = RecordingMonitor("consumer", "dev")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(monitor, server)
    engine_pb2_grpc.add_EngineServicer_to_server(monitor, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield monitor, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture(scope="module")
def package(plugin_python, engine, tmp_path_factory):
    _, address = engine
    consumer_dir = tmp_path_factory.mktemp("consumer")   # a TypeScript or YAML program's folder
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{plugin_python.parent}:{env.get('PATH', '')}"
    env["APP_SECRETS_BUILD_DIR"] = str(consumer_dir / "build")
    plugin = PluginProcess([str(plugin_python), str(PLUGIN_DIR), address], env, consumer_dir, timeout=120)
    assert plugin.port, plugin.output
    channel = grpc.insecure_channel(plugin.target)
    yield provider_pb2_grpc.ResourceProviderStub(channel)
    channel.close()
    plugin.stop()


def test_get_schema_over_grpc_equals_the_snapshot(package):
    assert package.GetPluginInfo(empty_pb2.Empty(), timeout=60).version
    reply = package.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
    assert json.loads(reply.schema) == json.loads(SNAPSHOT.read_text())


@pytest.mark.parametrize("component", sorted(CONSTRUCT_CASES))
def test_construct_over_grpc_builds_each_component_without_dynamic_resources(component, package, engine):
    monitor, address = engine
    inputs, library_type, child_type = CONSTRUCT_CASES[component]
    start = len(monitor.registrations)
    struct = struct_pb2.Struct()
    struct.update(inputs)
    reply = package.Construct(provider_pb2.ConstructRequest(
        project="consumer", stack="dev", organization="org", dryRun=False, parallel=4, monitorEndpoint=address,
        type=f"app-secrets:index:{component}", name=f"it-{component.lower()}", inputs=struct,
        config={"aws:region": "us-east-1"}), timeout=300)
    registered = monitor.registrations[start:]
    types = [r.type for r in registered]
    assert types[0] == f"app-secrets:index:{component}" and library_type in types and child_type in types
    dynamic = [t for t in types if t.startswith("pulumi-python:dynamic")]
    assert dynamic == [], dynamic
    assert reply.urn == f"urn:pulumi:dev::consumer::app-secrets:index:{component}::it-{component.lower()}"
    schema = json.loads(SNAPSHOT.read_text())["resources"][f"app-secrets:index:{component}"]
    # Every declared output that has a value crosses the wire (a null one is left out).
    assert set(reply.state.fields) <= set(schema["properties"])
    assert schema["required"] and set(schema["required"]) <= set(reply.state.fields)
    if any(t == "aws:secretsmanager/secret:Secret" for t in types):
        secret = next(r for r in registered if r.type == "aws:secretsmanager/secret:Secret")
        assert list(secret.ignoreChanges) == ["kmsKeyId"]   # what guards the key instead of KmsKeyGuard
