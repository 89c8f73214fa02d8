"""A program outside the app-secrets repository that installed the wheel: it registers each
component under Pulumi's mock runtime and prints what was registered as JSON.

Run from its own folder (so its own `components` package is first on sys.path)."""

import json
import os
import sys

import pulumi

from components import APP   # the consumer's own package of that name


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.registered = []

    def new_resource(self, args):
        self.registered.append({"type": args.typ, "name": args.name})
        outputs = dict(args.inputs)
        outputs.setdefault("arn", f"arn:aws:mock:us-east-1:000000000000:{args.name}")
        if args.typ == "aws:kms/key:Key":
            outputs["keyId"] = args.name
        return f"{args.name}-id", outputs

    def call(self, args):
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": "000000000000", "arn": "arn:aws:sts::000000000000:assumed-role/deployer/ci",
                "userId": "AROAMOCK:ci", "id": "000000000000"},
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
            "aws:index/getRegion:getRegion": {"region": "us-east-1", "name": "us-east-1", "id": "us-east-1"},
            "aws:iam/getSessionContext:getSessionContext": {
                "arn": args.args.get("arn"), "issuerArn": "arn:aws:iam::000000000000:role/deployer",
                "issuerId": "AROAMOCK", "issuerName": "deployer", "sessionName": "ci", "id": "x"},
            "aws:rds/getInstance:getInstance": {
                "dbInstanceIdentifier": "app-db", "address": "app-db.example.us-east-1.rds.amazonaws.com",
                "port": 5432, "engine": "postgres", "dbName": "app", "id": "app-db",
                "dbInstanceArn": "arn:aws:rds:us-east-1:000000000000:db:app-db"},
            "aws:secretsmanager/getSecret:getSecret": {
                "arn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:shared-AbCdEf", "name": "shared",
                "kmsKeyId": "arn:aws:kms:us-east-1:000000000000:key/1234", "id": "x"},
        }
        return answers.get(args.token, {})


mocks = Mocks()
pulumi.runtime.set_mocks(mocks, project="consumer", stack="test", preview=False)

import app_secrets  # noqa: E402  (after set_mocks, as Pulumi's testing guide does)
from app_secrets.kms import CustomerManagedKey, CustomerManagedKeyArgs  # noqa: E402
from app_secrets.rds import RdsPostgresAdminLogin, RdsPostgresAdminLoginArgs  # noqa: E402
from app_secrets.read_policy import ReadSecretPolicy, ReadSecretPolicyArgs  # noqa: E402
from app_secrets.secret import (RandomSecret, RandomSecretArgs, Secret, SecretArgs,  # noqa: E402
                                UserManagedSecret, UserManagedSecretArgs)

created = [
    Secret("web", SecretArgs(name=f"{APP}/web", initial_value={"API_KEY": pulumi.Output.secret("k")})),
    RandomSecret("rails", RandomSecretArgs(name=f"{APP}/rails", environment_variables=["SECRET_KEY_BASE"])),
    UserManagedSecret("tokens", UserManagedSecretArgs(name=f"{APP}/tokens", environment_variables=["TOKEN"])),
    ReadSecretPolicy("read", ReadSecretPolicyArgs(policy_name="read", secret_names=["shared"], role_names=["web"])),
    CustomerManagedKey("key", CustomerManagedKeyArgs(name=f"{APP}-key")),
    # No handler given: the component builds its archives from the handler shipped in the wheel.
    RdsPostgresAdminLogin("db", RdsPostgresAdminLoginArgs(identifier="app-db", username="postgres",
                                                          initial_password=pulumi.Output.secret("initial-pw-1"))),
]


@pulumi.runtime.test
def wait_for_registrations():
    return pulumi.Output.all(*[c.urn for c in created]).apply(lambda _: None)


wait_for_registrations()
json.dump({"library": os.path.dirname(app_secrets.__file__), "registered": mocks.registered}, sys.stdout)
