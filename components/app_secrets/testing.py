"""Pulumi unit-test mocks that answer every lookup the components make.

    import pulumi
    from app_secrets.testing import AwsMocks

    mocks = AwsMocks()                       # account 123456789012, us-east-1, partition aws
    pulumi.runtime.set_mocks(mocks, preview=False)
    # ... import and create components; mocks.created lists (type, name) of each resource

Data sources answered (the tokens the components call; pulumi-aws 7.x field names, camelCase):
`aws:index/getCallerIdentity:getCallerIdentity`, `aws:index/getPartition:getPartition`,
`aws:index/getRegion:getRegion`, `aws:iam/getSessionContext:getSessionContext`,
`aws:rds/getInstance:getInstance` (any identifier: a PostgreSQL instance),
`aws:rds/getCluster:getCluster` (any identifier: an Aurora PostgreSQL cluster),
`aws:secretsmanager/getSecret:getSecret` (any name: a secret on the AWS-managed key, unless
`secrets` says otherwise), `aws:kms/getKey:getKey`, `aws:iam/getPolicyDocument:getPolicyDocument`.
Any other token raises, naming it, instead of answering `{}` (which would fail far away).

Resources get an id and the outputs AWS would compute that the components read: `arn` (in the
resource's own ARN format), `keyId` for KMS keys, `name` when none was given (Pulumi autonaming
does not run under mocks).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Optional

import pulumi

# Resource type -> (service, resource part of the ARN): what `arn` outputs look like.
_ARN_FORMATS = {
    "aws:secretsmanager/secret:Secret": ("secretsmanager", "secret:{name}-AbCdEf"),
    "aws:kms/key:Key": ("kms", "key/{id}"),
    "aws:kms/alias:Alias": ("kms", "{name}"),
    "aws:iam/role:Role": ("iam", "role/{name}"),
    "aws:iam/policy:Policy": ("iam", "policy/{name}"),
    "aws:lambda/function:Function": ("lambda", "function:{name}"),
    "aws:lambda/layerVersion:LayerVersion": ("lambda", "layer:{name}:1"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
}
_GLOBAL_SERVICES = {"iam"}


class UnansweredLookup(Exception):
    """A data source these mocks do not know."""


class AwsMocks(pulumi.runtime.Mocks):
    def __init__(self, *, account_id: str = "123456789012", region: str = "us-east-1", partition: str = "aws",
                 deployer_role: str = "deployer", secrets: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 instances: Optional[Mapping[str, Mapping[str, Any]]] = None):
        self.account_id, self.region, self.partition = account_id, region, partition
        self.deployer_role = deployer_role
        self.secrets = dict(secrets or {})       # name -> getSecret fields to override
        self.instances = dict(instances or {})   # identifier -> getInstance fields to override
        self.created: list[tuple[str, str]] = []

    def _arn(self, service: str, resource: str, region: Optional[str] = None) -> str:
        where = "" if service in _GLOBAL_SERVICES else (region or self.region)
        return f"arn:{self.partition}:{service}:{where}:{self.account_id}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append((args.typ, args.name))
        outputs = dict(args.inputs)
        outputs.setdefault("name", args.name)
        resource_id = f"{args.name}-id"
        if args.typ == "aws:kms/key:Key":
            # From the name, the same in every run (hash() is salted per process).
            resource_id = outputs["keyId"] = f"{int(hashlib.sha256(args.name.encode()).hexdigest(), 16) % 10**12:012d}-mock"
        if args.typ in _ARN_FORMATS:
            service, pattern = _ARN_FORMATS[args.typ]
            outputs["arn"] = self._arn(service, pattern.format(name=outputs["name"], id=resource_id),
                                       outputs.get("region"))
        if args.typ == "aws:secretsmanager/secret:Secret":
            resource_id = outputs["arn"]
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        token, given = args.token, dict(args.args)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account_id, "id": self.account_id, "userId": "AROAMOCK:test",
                    "arn": f"arn:{self.partition}:sts::{self.account_id}:assumed-role/{self.deployer_role}/test"}
        if token == "aws:index/getPartition:getPartition":
            suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
            return {"partition": self.partition, "dnsSuffix": suffix, "reverseDnsPrefix": "com.amazonaws",
                    "id": self.partition}
        if token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if token == "aws:iam/getSessionContext:getSessionContext":
            return {"arn": given.get("arn"), "id": given.get("arn"), "issuerId": "AROAMOCK",
                    "issuerName": self.deployer_role, "sessionName": "test",
                    "issuerArn": self._arn("iam", f"role/{self.deployer_role}")}
        if token == "aws:rds/getInstance:getInstance":
            identifier = given.get("dbInstanceIdentifier") or "db"
            return {"dbInstanceIdentifier": identifier, "id": identifier, "engine": "postgres", "port": 5432,
                    "address": f"{identifier}.mock.{self.region}.rds.amazonaws.com", "dbName": None,
                    "dbInstanceArn": self._arn("rds", f"db:{identifier}"), "masterUserSecrets": [],
                    **self.instances.get(identifier, {})}
        if token == "aws:rds/getCluster:getCluster":
            identifier = given.get("clusterIdentifier") or "cluster"
            return {"clusterIdentifier": identifier, "id": identifier, "engine": "aurora-postgresql", "port": 5432,
                    "endpoint": f"{identifier}.cluster-mock.{self.region}.rds.amazonaws.com",
                    "readerEndpoint": f"{identifier}.cluster-ro-mock.{self.region}.rds.amazonaws.com",
                    "databaseName": None, "masterUserSecrets": [], "arn": self._arn("rds", f"cluster:{identifier}"),
                    **self.instances.get(identifier, {})}
        if token == "aws:secretsmanager/getSecret:getSecret":
            name = given.get("name") or given.get("arn") or "secret"
            return {"name": name, "id": name, "arn": self._arn("secretsmanager", f"secret:{name}-AbCdEf"),
                    "kmsKeyId": "", **self.secrets.get(name, {})}
        if token == "aws:kms/getKey:getKey":
            key_id = str(given.get("keyId"))
            region = given.get("region") or self.region
            arn = key_id if key_id.startswith("arn:") else self._arn("kms", f"key/{key_id.split('/')[-1]}", region)
            return {"arn": arn, "id": key_id, "keyId": arn.split("/")[-1]}
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": json.dumps({"Version": "2012-10-17", "Statement": given.get("statements") or []}),
                    "id": "policy"}
        raise UnansweredLookup(f"app_secrets.testing.AwsMocks: no answer for the data source {token}")
