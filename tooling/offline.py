"""Run the real program for a stack with no cloud and no Pulumi CLI, under Pulumi's mock runtime.

Used by the `plan` / `validate` commands and by the tests. It does what the engine would do that
the mock runtime does not:
- reads `stacks/Pulumi.<stack>.yaml` (via `stackConfigDir`) and applies the project-level
  defaults of `Pulumi.yaml`;
- replaces every `secure:` value by a unique placeholder (never decrypting anything) and marks
  its top-level key secret, as the engine does;
- marks a resource's `additionalSecretOutputs` secret in what the mock returns (the engine does,
  the mock monitor does not), so a test sees what a real deployment would store as plaintext.
Every registration is captured with its options (parent, ignoreChanges, additionalSecretOutputs,
dependencies) and its inputs exactly as the SDK sent them, secret markers included.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from stack_program.project import PROJECT_DIR, ProjectFile, StackFileError, load_project, read_yaml, stack_names
from tooling import urns

FAKE_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
DEPLOYER_ROLE = "plan-deployer"   # the role the mock credentials belong to
SECRET_SIG = {rpc._special_sig_key: rpc._special_secret_sig}


@dataclass
class StackConfig:
    stack: str
    path: Path
    values: dict[str, Any]          # full key -> decoded value (secure leaves replaced)
    secret_keys: set[str]           # full keys holding at least one secure value
    sensitive: set[str]             # the placeholders that stand for secure values

    def engine_config(self) -> dict[str, str]:
        """Config as the engine hands it to a program: strings, objects JSON-encoded."""
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.values.items()}


def load_stack(stack: str, project: ProjectFile, *, template: Optional[str] = None) -> StackConfig:
    """Config of `stack`, read from `Pulumi.<template or stack>.yaml` plus the project defaults.

    `template` plans a stack that would be created with `--copy-config-from template` (review
    stacks are copies of the `pr` template)."""
    source = template or stack
    path = project.stack_config_dir / f"Pulumi.{source}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(project)) or "none"
        raise StackFileError(f"{path}: no such stack file (stacks: {known})")
    doc = read_yaml(path) or {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), (dict, type(None))):
        raise StackFileError(f"{path}: expected a map with a `config:` map at the top")
    values = dict(project.defaults)
    secret_keys: set[str] = set()
    sensitive: set[str] = set()
    for key, value in (doc.get("config") or {}).items():
        key = str(key)
        full = key if ":" in key else f"{project.name}:{key}"
        before = len(sensitive)
        values[full] = _replace_secure(value, f"{stack}/{full}", sensitive)
        if len(sensitive) > before:  # the engine marks a key secret when any value under it is
            secret_keys.add(full)
    return StackConfig(stack=stack, path=path, values=values, secret_keys=secret_keys, sensitive=sensitive)


def _replace_secure(value: Any, path: str, sensitive: set[str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            # A unique stand-in per value: long enough for any password rule, and easy to spot
            # if it ever leaks into a plaintext input or output.
            token = "secure-" + hashlib.sha256(path.encode()).hexdigest()[:24]
            sensitive.add(token)
            return token
        return {k: _replace_secure(v, f"{path}.{k}", sensitive) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, f"{path}[{i}]", sensitive) for i, v in enumerate(value)]
    return value


# ---------------------------------------------------------------------------------------------
# Mocks


def _suffix(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _uuid(h: str) -> str:
    """A UUID-shaped id (KMS key ids, secret version ids) from a hex digest."""
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class AwsMocks(pulumi.runtime.Mocks):
    """Plausible values for what only the cloud knows, deterministic per name.

    `computed` maps each invented value to a label, so the plan can show it as computed."""

    def __init__(self, region: str = DEFAULT_REGION, account_id: str = FAKE_ACCOUNT_ID):
        self.region = region
        self.account = account_id
        self.computed: dict[str, str] = {}
        self.generated_secrets: set[str] = set()
        self.calls: list[tuple[str, dict]] = []
        self.created: list[tuple[str, str]] = []
        # (type, name) -> id of resources already in the stack's state (issue 17: adopted by an
        # earlier `up`), so a later plan sees their real ids as the engine would.
        self.existing: dict[tuple[str, str], str] = {}
        # Instance or cluster identifiers whose master password RDS manages (ManageMasterUserPassword):
        # their lookup answers with the `rds!…` secret, as AWS's does.
        self.managed_master_passwords: set[str] = set()

    def _managed(self, ident: str, kind: str) -> list[dict]:
        if ident not in self.managed_master_passwords:
            return []
        h = _suffix("rds-managed", ident)
        return [{"secretArn": f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:rds!{kind}-{_uuid(h)}-{h[:6]}",
                 "secretStatus": "active", "kmsKeyId": f"arn:aws:kms:{self.region}:{self.account}:key/{_uuid(h)}"}]

    def _invent(self, value: str, label: str) -> str:
        self.computed[value] = label
        return value

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        t, name = args.typ, args.name
        self.created.append((t, name))
        region, account = inputs.get("region") or self.region, self.account
        h = _suffix(t, name)
        physical = inputs.get("name") or name
        outputs: dict[str, Any] = {}
        rid = f"{name}-id"
        if t == "aws:kms/key:Key":
            key_id = _uuid(h)
            outputs["keyId"] = self._invent(key_id, f"key id of {name}")
            outputs["arn"] = self._invent(f"arn:aws:kms:{region}:{account}:key/{key_id}", f"arn of key {name}")
            rid = key_id
        elif t == "aws:kms/alias:Alias":
            outputs["arn"] = f"arn:aws:kms:{region}:{account}:{physical}"
            rid = physical
        elif t == "aws:secretsmanager/secret:Secret":
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{physical}-{h[:6]}"
            outputs["arn"] = self._invent(arn, f"arn of secret {physical}")
            rid = arn
        elif t == "aws:secretsmanager/secretVersion:SecretVersion":
            version = _uuid(h)
            outputs["versionId"] = self._invent(version, f"version id of {name}")
            rid = f"{inputs.get('secretId')}|{version}"
        elif t == "aws:iam/role:Role":
            outputs["arn"] = self._invent(f"arn:aws:iam::{account}:role/{physical}", f"arn of role {physical}")
            outputs["uniqueId"] = f"AROA{h[:17].upper()}"
            rid = physical
        elif t == "aws:iam/policy:Policy":
            outputs["arn"] = self._invent(f"arn:aws:iam::{account}:policy/{physical}", f"arn of policy {physical}")
            rid = outputs["arn"]
        elif t == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{account}:function:{physical}"
            outputs["arn"] = self._invent(arn, f"arn of function {physical}")
            outputs["invokeArn"] = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            outputs["version"] = "$LATEST"
            rid = physical
        elif t == "aws:lambda/layerVersion:LayerVersion":
            layer = f"arn:aws:lambda:{region}:{account}:layer:{inputs.get('layerName', name)}"
            outputs["layerArn"] = layer
            outputs["arn"] = self._invent(f"{layer}:1", f"arn of layer {inputs.get('layerName', name)}")
            outputs["version"] = "1"
        elif t == "aws:ec2/securityGroup:SecurityGroup":
            rid = self._invent(f"sg-{h[:17]}", f"id of security group {physical}")
            outputs["arn"] = f"arn:aws:ec2:{region}:{account}:security-group/{rid}"
        elif t == "aws:sns/topic:Topic":
            outputs["arn"] = self._invent(f"arn:aws:sns:{region}:{account}:{physical}", f"arn of topic {physical}")
        elif t == "aws:cloudwatch/eventRule:EventRule":
            outputs["arn"] = self._invent(f"arn:aws:events:{region}:{account}:rule/{physical}",
                                          f"arn of rule {physical}")
        elif t == "aws:cloudwatch/logGroup:LogGroup":
            outputs["arn"] = self._invent(f"arn:aws:logs:{region}:{account}:log-group:{physical}",
                                          f"arn of log group {physical}")
            rid = physical
        elif t == "pulumi-python:dynamic/app-secrets:SecretKeys":
            # The merge would add every missing key: the plan shows the state after it.
            values = inputs.get("values") or {}
            if isinstance(values, dict) and rpc._special_sig_key in values:  # a secret, still wrapped
                values = values.get("value") or {}
            keys = sorted(values)
            outputs.update(present_keys=keys, added_keys=[], extra_keys=[])
            rid = f"{inputs.get('secret_id')}|keys"
        elif t == "random:index/randomPassword:RandomPassword":
            value = f"random-{h[:32]}"
            self.generated_secrets.add(value)
            outputs["result"] = value
            outputs["bcryptHash"] = f"$2a$10${h[:53]}"
        known = args.resource_id or self.existing.get((t, name))
        if known:  # issue 17: an import (or a resource imported earlier) has its own id and ARN
            rid = self._imported(t, known, outputs, region)
        if "arn" not in outputs and t.startswith("aws:"):
            outputs.setdefault("arn", None)
        state = {**inputs, **{k: v for k, v in outputs.items() if v is not None}}
        return rid, state

    def _imported(self, t: str, import_id: str, outputs: dict[str, Any], region: str) -> str:
        """The outputs an imported resource has in AWS, from its import ID (issue 17)."""
        if t == "aws:kms/key:Key":
            outputs["keyId"] = import_id
            outputs["arn"] = f"arn:aws:kms:{region}:{self.account}:key/{import_id}"
        elif t == "aws:secretsmanager/secret:Secret":
            outputs["arn"] = import_id
        elif t == "aws:kms/alias:Alias":
            outputs["arn"] = f"arn:aws:kms:{region}:{self.account}:{import_id}"
        return import_id

    def call(self, args: pulumi.runtime.MockCallArgs):
        token, a = args.token, dict(args.args)
        self.calls.append((token, a))
        region, account = self.region, self.account
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            # Deployments run as a role: the caller is an assumed-role session of it.
            return {"accountId": account, "arn": f"arn:aws:sts::{account}:assumed-role/{DEPLOYER_ROLE}/plan",
                    "id": account, "userId": "AROAPLAN:plan"}
        if token == "aws:iam/getSessionContext:getSessionContext":
            arn = a.get("arn") or ""
            parts = arn.split(":")
            if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
                role = parts[5].split("/")[1]
                issuer = f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
                return {"arn": arn, "issuerArn": issuer, "issuerId": "AROAPLAN", "issuerName": role,
                        "sessionName": parts[5].split("/")[-1], "id": arn}
            return {"arn": arn, "issuerArn": arn, "issuerId": "", "issuerName": "", "sessionName": "", "id": arn}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}
        if token == "aws:index/getRegion:getRegion":
            return {"region": region, "name": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
                    "description": region}
        if token == "aws:rds/getInstance:getInstance":
            ident = a.get("dbInstanceIdentifier")
            host = f"{ident}.c{_suffix(ident)[:10]}.{region}.rds.amazonaws.com"
            self.computed.setdefault(host, f"address of db instance {ident}")
            return {"dbInstanceIdentifier": ident, "address": host, "port": 5432, "engine": "postgres",
                    "dbName": "app", "endpoint": f"{host}:5432",
                    "dbInstanceArn": f"arn:aws:rds:{region}:{account}:db:{ident}", "id": ident,
                    "masterUserSecrets": self._managed(ident, "db")}
        if token == "aws:rds/getCluster:getCluster":
            ident = a.get("clusterIdentifier")
            suffix = _suffix("cluster", ident)[:10]
            writer = f"{ident}.cluster-c{suffix}.{region}.rds.amazonaws.com"
            reader = f"{ident}.cluster-ro-c{suffix}.{region}.rds.amazonaws.com"
            self.computed.setdefault(writer, f"writer endpoint of db cluster {ident}")
            self.computed.setdefault(reader, f"reader endpoint of db cluster {ident}")
            return {"clusterIdentifier": ident, "endpoint": writer, "readerEndpoint": reader, "port": 5432,
                    "engine": "aurora-postgresql", "databaseName": "app", "masterUsername": "postgres",
                    "arn": f"arn:aws:rds:{region}:{account}:cluster:{ident}", "id": ident,
                    "masterUserSecrets": self._managed(ident, "cluster")}
        if token == "aws:secretsmanager/getSecret:getSecret":
            name = a.get("name") or a.get("arn")
            h = _suffix("existing", name)
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-{h[:6]}"
            key = f"arn:aws:kms:{region}:{account}:key/{_uuid(h)}"
            self.computed.setdefault(arn, f"arn of existing secret {name}")
            self.computed.setdefault(key, f"key arn of existing secret {name}")
            return {"arn": arn, "name": name, "id": arn, "kmsKeyId": key, "description": "", "tags": {}}
        if token == "aws:ec2/getVpc:getVpc":
            vpc_id = str(a.get("id"))
            cidr = f"10.{int(_suffix('vpc', vpc_id)[:2], 16) % 256}.0.0/16"
            self.computed.setdefault(cidr, f"CIDR block of VPC {vpc_id}")
            return {"id": vpc_id, "cidrBlock": cidr, "arn": f"arn:aws:ec2:{region}:{account}:vpc/{vpc_id}"}
        if token == "aws:kms/getKey:getKey":
            key_id = str(a.get("keyId"))
            region = a.get("region") or region
            if key_id.startswith("alias/"):   # an alias resolves to its key's ARN
                h = _suffix("alias", region, key_id)
                arn = f"arn:aws:kms:{region}:{account}:key/{_uuid(h)}"
            else:
                arn = key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id}"
            return {"arn": arn, "id": key_id}
        if token == "aws:iam/getRole:getRole":   # a role of a read policy, at the root path
            name = a.get("name")
            return {"name": name, "id": name, "arn": f"arn:aws:iam::{account}:role/{name}", "path": "/"}
        raise NotImplementedError(f"no mock for data source {token}")


# ---------------------------------------------------------------------------------------------
# Capturing monitor


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]          # as the mock saw them (secrets unwrapped)
    raw_inputs: dict[str, Any]      # as the SDK sent them (secret markers kept)
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    dependencies: list[str]
    delete_before_replace: bool
    protect: bool
    id: Optional[str] = None
    aliases: list[dict] = field(default_factory=list)   # alias specs as sent ({"name", "type", ...} or {"urn"})
    import_id: str = ""             # the `import` resource option: adopt this existing resource

    @property
    def physical_name(self) -> Optional[str]:
        for key in ("name", "layerName"):
            value = self.inputs.get(key)
            if isinstance(value, str):
                return value
        return None


class CapturingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: AwsMocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        from pulumi.runtime.settings import get_project, get_stack

        return urns.make(get_stack(), get_project(), parent or None, type_, name)

    def RegisterResource(self, request):
        from google.protobuf import json_format

        response = None
        raw = json_format.MessageToDict(request.object) if request.object else {}
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        pulumi_mocks._ensure_event_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = rpc.deserialize_properties(request.object)
        resource_args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False)
        id_, state = self.mocks.new_resource(resource_args)
        # What the engine does and the mock monitor does not: outputs the resource declares
        # secret come back as secrets.
        secret_outputs = set(request.additionalSecretOutputs)
        wire_state = {k: ({**SECRET_SIG, "value": v} if k in secret_outputs else v) for k, v in state.items()}
        obj_proto = _sync_await(rpc.serialize_properties(wire_state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        self.registrations.append(Registration(
            urn=urn, type=request.type, name=request.name, parent=request.parent, custom=bool(request.custom),
            inputs=inputs, raw_inputs=raw, ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            dependencies=list(request.dependencies), delete_before_replace=bool(request.deleteBeforeReplace),
            protect=bool(request.protect), id=id_,
            aliases=[json_format.MessageToDict(a) for a in request.aliases], import_id=request.importId or ""))
        from pulumi.runtime.proto import resource_pb2
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)
        return response


@dataclass
class OutputValue:
    value: Any
    secret: bool
    known: bool = True


@dataclass
class OfflineRun:
    stack: str
    config: StackConfig
    mocks: AwsMocks
    registrations: list[Registration]
    outputs: dict[str, Any]                 # plain values, secrets included (for tests only)
    output_leaves: list[tuple[str, OutputValue]] = field(default_factory=list)

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def find(self, type_: str, name: str) -> Registration:
        for r in self.registrations:
            if r.type == type_ and r.name == name:
                return r
        raise KeyError(f"{type_} {name} not registered")

    @property
    def sensitive_values(self) -> set[str]:
        return set(self.config.sensitive) | set(self.mocks.generated_secrets)


def _resolve_outputs(value: Any) -> dict[int, tuple[Any, bool, bool]]:
    """Resolve every Output in an exported structure in one pass of the event loop:
    id(output) -> (value, secret, known)."""
    found: dict[int, pulumi.Output] = {}

    def walk(v: Any) -> None:
        if isinstance(v, pulumi.Output):
            found[id(v)] = v
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)

    walk(value)

    async def one(output: pulumi.Output):
        known = await output.is_known()
        return (await output.future() if known else None), await output.is_secret(), known

    async def every():
        return await asyncio.gather(*(one(o) for o in found.values()))

    results = _sync_await(every()) if found else []
    resolved = dict(zip(found, results))
    # Outputs whose value holds more Outputs (rare): resolve those too.
    nested = [r[0] for r in results if isinstance(r[0], (pulumi.Output, dict, list))]
    for inner in nested:
        resolved.update(_resolve_outputs(inner))
    return resolved


def _collect(value: Any, path: str, leaves: list[tuple[str, OutputValue]],
             resolved: dict[int, tuple[Any, bool, bool]], secret: bool = False) -> Any:
    """Plain values of exported outputs, and each leaf with its secretness."""
    if isinstance(value, pulumi.Output):
        inner, is_secret, known = resolved[id(value)]
        plain = _collect(inner, path, leaves, resolved, secret or is_secret) if known else None
        if not known:
            leaves.append((path, OutputValue(None, secret or is_secret, False)))
        return plain
    if isinstance(value, dict):
        return {k: _collect(v, f"{path}.{k}" if path else k, leaves, resolved, secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_collect(v, f"{path}[{i}]", leaves, resolved, secret) for i, v in enumerate(value)]
    leaves.append((path, OutputValue(value, secret)))
    return value


def run_program(
    stack: str,
    *,
    project_dir: Path = PROJECT_DIR,
    template: Optional[str] = None,
    program: Optional[Callable[[], None]] = None,
    config_override: Optional[dict[str, Any]] = None,
    preview: bool = False,
    mocks: Optional[AwsMocks] = None,
) -> OfflineRun:
    """Run the program (default: the project's `stack_program.program.run`) for one stack.

    Raises StackFileError for an unreadable stack and whatever the program raises (a
    `pulumi.RunError` for invalid config)."""
    project = load_project(project_dir)
    config = load_stack(stack, project, template=template)
    if config_override:
        for key, value in config_override.items():
            full = key if ":" in key else f"{project.name}:{key}"
            config.values[full] = value
    return execute(project.name, config, program=program, preview=preview, mocks=mocks, project_dir=project_dir)


def execute(
    project_name: str,
    config: StackConfig,
    *,
    program: Optional[Callable[[], None]] = None,
    preview: bool = False,
    mocks: Optional[AwsMocks] = None,
    project_dir: Path = PROJECT_DIR,
) -> OfflineRun:
    """Run a program (default: the project's) with the given config under fresh mocks."""
    region = config.values.get("aws:region")
    mocks = mocks or AwsMocks(region=region if isinstance(region, str) and region else DEFAULT_REGION)
    _fresh_runtime()
    monitor = CapturingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project_name, stack=config.stack, preview=preview, monitor=monitor)
    set_all_config(config.engine_config(), sorted(config.secret_keys))
    from stack_program import program as program_module

    if program is None:
        program = program_module.run
    program_module.stack_file_override = config.path if config.path.is_file() else None
    old_cwd = os.getcwd()
    os.chdir(project_dir)
    # A program run allocates many small, long-lived objects (resources, outputs, futures);
    # Python's cyclic GC rescans them over and over, which made plan time grow with N squared.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        os.chdir(old_cwd)
        program_module.stack_file_override = None
        if gc_was_enabled:
            gc.enable()
    root = runtime_settings.get_root_resource()
    leaves: list[tuple[str, OutputValue]] = []
    exported = dict(getattr(root, "outputs", {}) or {})
    outputs = _collect(exported, "", leaves, _resolve_outputs(exported))
    return OfflineRun(stack=config.stack, config=config, mocks=mocks, registrations=monitor.registrations,
                      outputs=outputs, output_leaves=leaves)


def _fresh_runtime() -> None:
    """Each run starts from a clean runtime. A failed run leaves its output tasks in the SDK's
    module-level set `SETTINGS.outputs` (the mock settings never replace it) and pending work on
    the event loop; the next stack's run would await them and fail with the first one's error."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = None
    if loop is not None and not loop.is_running() and not loop.is_closed():
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    with runtime_settings.SETTINGS.lock:
        for task in runtime_settings.SETTINGS.outputs:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" noise at exit
        runtime_settings.SETTINGS.outputs.clear()
    if loop is not None and not loop.is_closed():
        loop.set_exception_handler(_quiet_unretrieved)
    runtime_settings.ROOT.set(None)


def _quiet_unretrieved(loop, context) -> None:
    """A failed run's leftover futures are garbage-collected later with asyncio's "exception was
    never retrieved" report; the run itself already reported that error, once."""
    if "never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


def run_inline(program: Callable[[], None], *, stack: str = "test", config: Optional[dict[str, Any]] = None,
               secret_keys: Optional[set[str]] = None, sensitive: Optional[set[str]] = None,
               preview: bool = False, mocks: Optional[AwsMocks] = None) -> OfflineRun:
    """Run any program (e.g. one component) with config given as a dict of full keys."""
    values = {"aws:region": DEFAULT_REGION, **(config or {})}
    stack_config = StackConfig(stack=stack, path=Path("<inline>"), values=values,
                               secret_keys=set(secret_keys or ()), sensitive=set(sensitive or ()))
    return execute("app-secrets", stack_config, program=program, preview=preview, mocks=mocks)
