"""RdsPostgresAdminLogin and SecretRotationFunction under the mock runtime."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pulumi
import pytest

from app_secrets import packaging
from tooling.offline import _suffix, run_inline
from app_secrets.rds import RdsPostgresAdminLogin, RdsPostgresAdminLoginArgs, database_url
from app_secrets.rotation_function import SecretRotationFunction
from tests.helpers import leaks, plain

PASSWORD = "p@ss:w/rd?#%&+ sensitive"


@pytest.fixture(scope="module")
def handler(tmp_path_factory):
    return packaging.build_directory_archive(packaging.HANDLER_DIR, tmp_path_factory.mktemp("b") / "handler.zip")


def login_program(handler, **overrides):
    def program():
        args = dict(identifier="orders-db", username="orders_admin",
                    initial_password=pulumi.Output.secret(PASSWORD), handler=handler,
                    layers={"deps": handler})
        args.update(overrides)
        login = RdsPostgresAdminLogin("orders", RdsPostgresAdminLoginArgs(**args))
        for name in ("environment_variables", "secret_name", "secret_arn", "rotation_role_name", "function_arn",
                     "policy_json", "kms_key_arn"):
            pulumi.export(name, getattr(login, name))
    return program


def test_database_url_percent_encodes_user_and_password():
    url = database_url("admin user", PASSWORD, "db.example.com", 5432, "app")
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == ("postgres", "db.example.com", 5432, "/app")
    assert (unquote(parts.username), unquote(parts.password)) == ("admin user", PASSWORD)


def test_secret_holds_the_connection_details_read_from_the_instance(handler):
    run = run_inline(login_program(handler), sensitive={PASSWORD})
    calls = [a for t, a in run.mocks.calls if t == "aws:rds/getInstance:getInstance"]
    assert calls == [{"dbInstanceIdentifier": "orders-db"}]
    version = run.find("aws:secretsmanager/secretVersion:SecretVersion", "orders")
    value = json.loads(plain(version.inputs["secretString"]))
    host = f"orders-db.c{_suffix('orders-db')[:10]}.us-east-1.rds.amazonaws.com"  # what the mock instance says
    assert {k: value[k] for k in ("engine", "host", "port", "dbname", "username", "password")} == {
        "engine": "postgres", "host": host, "port": 5432, "dbname": "app", "username": "orders_admin",
        "password": PASSWORD}
    parts = urlsplit(value["DATABASE_URL"])
    assert unquote(parts.password) == PASSWORD and parts.hostname == host
    assert run.outputs["environment_variables"] == ["DATABASE_URL"]
    assert run.outputs["secret_name"] == "rds-postgres-orders-db"
    assert leaks(run) == []


def test_rotation_function_schedule_permission_and_role(handler):
    run = run_inline(login_program(handler, strategy="alternating-users", rotation_days=7,
                                   exclude_characters="'\"\\"), sensitive={PASSWORD})
    function = run.find("aws:lambda/function:Function", "orders")
    assert function.inputs["runtime"] == "python3.13" and function.inputs["timeout"] == 60
    assert function.inputs["name"] == "rds-postgres-orders-db"
    assert function.inputs["handler"] == "lambda_function.lambda_handler"
    assert function.inputs["sourceCodeHash"] == handler.sha256_base64
    assert function.inputs["environment"]["variables"] == {
        "ROTATION_STRATEGY": "alternating-users", "PRIMARY_USERNAME": "orders_admin",
        "ALTERNATE_USERNAME": "orders_admin_alt", "DB_SSLMODE": "verify-full", "PASSWORD_LENGTH": "32",
        "EXCLUDE_CHARACTERS": "'\"\\", "SECRETS_MANAGER_ENDPOINT": "https://secretsmanager.us-east-1.amazonaws.com"}
    assert "vpcConfig" not in function.inputs
    secret_arn = run.outputs["secret_arn"]
    permission = run.find("aws:lambda/permission:Permission", "orders")
    assert (permission.inputs["principal"], permission.inputs["sourceArn"], permission.inputs["action"]) == \
        ("secretsmanager.amazonaws.com", secret_arn, "lambda:InvokeFunction")
    rotation = run.find("aws:secretsmanager/secretRotation:SecretRotation", "orders")
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 7}
    assert rotation.inputs["secretId"] == secret_arn and rotation.inputs["rotationLambdaArn"] == run.outputs["function_arn"]
    assert permission.urn in rotation.dependencies
    # The first rotation (at once, by default) waits for the value, the policies and the role's rights.
    for type_, name in (("aws:secretsmanager/secretVersion:SecretVersion", "orders"),
                        ("aws:secretsmanager/secretPolicy:SecretPolicy", "orders"),
                        ("aws:iam/rolePolicy:RolePolicy", "orders-rotation")):
        assert run.find(type_, name).urn in rotation.dependencies, name
    assert rotation.inputs["rotateImmediately"] is True
    # Least privilege: no managed policy, no rds:DescribeDBInstances (the handler never calls it);
    # logs only to the function's own log group, which has a retention.
    assert run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    log_group = run.find("aws:cloudwatch/logGroup:LogGroup", "orders")
    assert log_group.inputs["name"] == "/app-secrets/rotation/rds-postgres-orders-db"
    assert log_group.inputs["retentionInDays"] == 30
    assert function.inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": log_group.inputs["name"]}
    attachment = run.find("aws:iam/rolePolicy:RolePolicy", "orders-execution")
    assert attachment.inputs["role"] == run.outputs["rotation_role_name"] == "rds-postgres-orders-db-rotation"
    execution = json.loads(attachment.inputs["policy"])
    log_arn = "arn:aws:logs:us-east-1:000000000000:log-group:/app-secrets/rotation/rds-postgres-orders-db"
    function_arn = "arn:aws:lambda:us-east-1:000000000000:function:rds-postgres-orders-db"
    assert execution["Statement"] == [{"Sid": "WriteOwnLogs", "Effect": "Allow",
                                       "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                       "Resource": f"{log_arn}:*"},
                                      # issue 16: the role's rights hold only from this very function
                                      {"Sid": "OnlyFromItsOwnFunction", "Effect": "Deny",
                                       "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                                  "secretsmanager:PutSecretValue",
                                                  "secretsmanager:UpdateSecretVersionStage",
                                                  "kms:Decrypt", "kms:GenerateDataKey"],
                                       "Resource": "*",
                                       "Condition": {"ArnNotEquals": {"lambda:SourceFunctionArn": function_arn}}}]
    assert function_arn.endswith(f":function:{function.inputs['name']}")
    every_action = [a for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
                    for st in json.loads(r.inputs["policy"])["Statement"] for a in st["Action"]]
    assert not any(a.startswith("rds:") for a in every_action)
    layer = run.find("aws:lambda/layerVersion:LayerVersion", "orders-deps")
    assert layer.inputs["compatibleRuntimes"] == ["python3.13"]
    assert function.inputs["layers"] == [f"arn:aws:lambda:us-east-1:000000000000:layer:{layer.inputs['layerName']}:1"]
    component = run.find(SecretRotationFunction.TYPE, "orders")
    assert all(r.parent == component.urn for r in (function, permission, rotation, layer, attachment, log_group))
    assert leaks(run) == []


def test_vpc_function_gets_a_security_group_and_the_vpc_policy(handler):
    run = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01", "subnet-02"],
                                   security_group_ids=["sg-0db"], schedule_expression="rate(10 days)"),
                     sensitive={PASSWORD})
    group = run.find("aws:ec2/securityGroup:SecurityGroup", "orders-rotation")
    assert group.inputs["vpcId"] == "vpc-0abc"
    # Egress: the database port and HTTPS (Secrets Manager), nothing else.
    assert [(e["protocol"], e["fromPort"], e["toPort"]) for e in group.inputs["egress"]] == [
        ("tcp", 5432, 5432), ("tcp", 443, 443)]
    function = run.find("aws:lambda/function:Function", "orders")
    assert function.inputs["vpcConfig"]["subnetIds"] == ["subnet-01", "subnet-02"]
    assert function.inputs["vpcConfig"]["securityGroupIds"] == ["sg-0db", group.id]
    execution = json.loads(run.find("aws:iam/rolePolicy:RolePolicy", "orders-execution").inputs["policy"])
    by_sid = {st["Sid"]: st for st in execution["Statement"]}
    assert by_sid["ManageNetworkInterfaces"]["Resource"] == [
        "arn:aws:ec2:us-east-1:000000000000:network-interface/*", "arn:aws:ec2:us-east-1:000000000000:security-group/*",
        "arn:aws:ec2:us-east-1:000000000000:subnet/*"]
    assert by_sid["DescribeNetwork"]["Action"] == ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    assert not any(a.startswith("logs:") and st["Resource"] == "*" for st in execution["Statement"]
                   for a in st["Action"])
    rotation = run.find("aws:secretsmanager/secretRotation:SecretRotation", "orders")
    assert rotation.inputs["rotationRules"] == {"scheduleExpression": "rate(10 days)"}
    # Only the Secrets Manager endpoint's rule: no database group was given.
    rules = run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [r.name for r in rules] == ["orders-secretsmanager-endpoint-https"]


def test_vpc_function_gets_a_secrets_manager_endpoint_reachable_only_from_it(handler):
    run = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01", "subnet-02"]),
                     sensitive={PASSWORD})
    function_group = run.find("aws:ec2/securityGroup:SecurityGroup", "orders-rotation")
    endpoint_group = run.find("aws:ec2/securityGroup:SecurityGroup", "orders-secretsmanager-endpoint")
    assert endpoint_group.inputs["vpcId"] == "vpc-0abc"
    assert not endpoint_group.inputs.get("ingress") and not endpoint_group.inputs.get("egress")
    rule = run.find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "orders-secretsmanager-endpoint-https")
    assert (rule.inputs["securityGroupId"], rule.inputs["referencedSecurityGroupId"]) == \
        (endpoint_group.id, function_group.id)
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    endpoint = run.find("aws:ec2/vpcEndpoint:VpcEndpoint", "orders-secretsmanager")
    assert {k: endpoint.inputs[k] for k in ("vpcId", "serviceName", "vpcEndpointType", "privateDnsEnabled",
                                            "subnetIds", "securityGroupIds")} == {
        "vpcId": "vpc-0abc", "serviceName": "com.amazonaws.us-east-1.secretsmanager", "vpcEndpointType": "Interface",
        "privateDnsEnabled": True, "subnetIds": ["subnet-01", "subnet-02"], "securityGroupIds": [endpoint_group.id]}
    # The function calls the regional name, which private DNS resolves to the endpoint.
    function = run.find("aws:lambda/function:Function", "orders")
    assert function.inputs["environment"]["variables"]["SECRETS_MANAGER_ENDPOINT"] == \
        "https://secretsmanager.us-east-1.amazonaws.com"
    # The first rotation (at once) waits for the endpoint.
    assert endpoint.urn in run.find("aws:secretsmanager/secretRotation:SecretRotation", "orders").dependencies
    component = run.find(RdsPostgresAdminLogin.TYPE, "orders")
    assert endpoint.parent == component.urn and endpoint_group.parent == component.urn


def test_an_existing_endpoint_creates_none(handler):
    run = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01"],
                                   secrets_manager_endpoint="existing"), sensitive={PASSWORD})
    assert run.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    assert [g.name for g in run.by_type("aws:ec2/securityGroup:SecurityGroup")] == ["orders-rotation"]


@pytest.mark.parametrize("overrides, message", [
    ({"vpc_id": "vpc-0abc", "subnet_ids": ["subnet-01"], "secrets_manager_endpoint": "none"},
     "none leaves the rotation function in VPC vpc-0abc without a route to Secrets Manager"),
    ({"vpc_id": "vpc-0abc"}, "vpcId is set without subnetIds"),
    ({"subnet_ids": ["subnet-01"]}, "subnetIds is set without vpcId"),
    ({"secrets_manager_endpoint": "create"}, "create needs the function in a VPC"),
    ({"vpc_id": "vpc-0abc", "subnet_ids": ["subnet-01"], "secrets_manager_endpoint": "nat"},
     "must be one of create, existing, none"),
])
def test_vpc_settings_without_a_route_are_refused(overrides, message):
    from app_secrets.rds import endpoint_mode

    with pytest.raises(ValueError, match=message):
        endpoint_mode(overrides.get("vpc_id"), overrides.get("subnet_ids", ()), overrides.get("secrets_manager_endpoint"))


def test_database_security_group_lets_the_function_in(handler):
    run = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01"],
                                   database_security_group_id="sg-0database"), sensitive={PASSWORD})
    group = run.find("aws:ec2/securityGroup:SecurityGroup", "orders-rotation")
    rule = run.find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "orders-rotation-to-db")
    assert (rule.inputs["securityGroupId"], rule.inputs["referencedSecurityGroupId"]) == ("sg-0database", group.id)
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
    # ...and the function's group lets it out only to the database's group on that port, and HTTPS.
    assert group.inputs["egress"][0] == {"description": "The database", "protocol": "tcp", "fromPort": 5432,
                                         "toPort": 5432, "securityGroups": ["sg-0database"]}
    assert group.inputs["egress"][1]["fromPort"] == group.inputs["egress"][1]["toPort"] == 443
    # The first rotation waits until the database lets the function in.
    assert rule.urn in run.find("aws:secretsmanager/secretRotation:SecretRotation", "orders").dependencies


def test_instance_without_a_database_name_uses_postgres(handler):
    from tooling.offline import AwsMocks

    class NoDbName(AwsMocks):
        def call(self, args):
            result = super().call(args)
            return {**result, "dbName": ""} if args.token == "aws:rds/getInstance:getInstance" else result

    run = run_inline(login_program(handler), sensitive={PASSWORD}, mocks=NoDbName())
    value = json.loads(plain(run.find("aws:secretsmanager/secretVersion:SecretVersion", "orders").inputs["secretString"]))
    assert value["dbname"] == "postgres" and urlsplit(value["DATABASE_URL"]).path == "/postgres"


def test_rotation_off_creates_no_function_and_no_role(handler):
    run = run_inline(login_program(handler, rotation_enabled=False), sensitive={PASSWORD})
    assert run.by_type("aws:lambda/function:Function") == []
    assert run.by_type("aws:iam/role:Role") == []
    assert run.outputs["function_arn"] is None
    assert run.by_type("aws:secretsmanager/secret:Secret")


def test_the_rotation_role_holds_exactly_the_secrets_manager_calls_the_handler_makes(handler):
    """No unused permission: the Secrets Manager actions granted to the rotation role are the client
    methods the handler's source uses, and nothing else of any AWS service but the key (used by
    Secrets Manager on its behalf) and its own log group."""
    import ast
    import re

    source = (packaging.HANDLER_DIR / "lambda_function.py").read_text()
    def is_client(node) -> bool:   # `client` or `self.client`
        return (isinstance(node, ast.Name) and node.id == "client") or (
            isinstance(node, ast.Attribute) and node.attr == "client")
    used = {node.attr for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and is_client(node.value)}
    used_actions = {"secretsmanager:" + "".join(part.title() for part in name.split("_")) for name in used}
    assert used_actions == {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                            "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
                            "secretsmanager:GetRandomPassword"}
    run = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01"]), sensitive={PASSWORD})
    granted = {action for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
               for st in json.loads(r.inputs["policy"])["Statement"] for action in st["Action"]}
    assert {a for a in granted if a.startswith("secretsmanager:")} == used_actions
    others = {a for a in granted if not a.startswith("secretsmanager:")}
    assert {a.split(":")[0] for a in others} == {"kms", "logs", "ec2"}
    assert not any(re.search(r"\*", a) for a in granted)


# --------------------------------------------------------------------------- issue 20: verified TLS

def test_a_stacks_own_ca_bundle_ships_in_a_layer_the_function_reads(handler, tmp_path, monkeypatch):
    import zipfile

    monkeypatch.setenv("APP_SECRETS_BUILD_DIR", str(tmp_path / "build"))
    bundle = packaging.HANDLER_DIR / "rds-ca-bundle.pem"
    run = run_inline(login_program(handler, ca_bundle=str(bundle)), sensitive={PASSWORD})
    function = run.find("aws:lambda/function:Function", "orders")
    variables = function.inputs["environment"]["variables"]
    assert (variables["DB_SSLMODE"], variables["DB_SSLROOTCERT"]) == ("verify-full", "/opt/app-secrets-ca/ca-bundle.pem")
    layer = run.find("aws:lambda/layerVersion:LayerVersion", "orders-ca")
    (archive,) = (tmp_path / "build" / "layers").glob("ca-bundle-*.zip")
    assert layer.inputs["sourceCodeHash"] == packaging.archive_info(archive).sha256_base64
    with zipfile.ZipFile(archive) as layer_zip:
        assert layer_zip.read("app-secrets-ca/ca-bundle.pem") == bundle.read_bytes()


@pytest.mark.parametrize("mode", ["disable", "prefer", "allow"])
def test_modes_that_can_send_the_password_in_clear_are_refused(handler, mode):
    with pytest.raises(ValueError, match="ssl_mode must be one of verify-full, verify-ca, require"):
        run_inline(login_program(handler, ssl_mode=mode))


def test_egress_is_narrow_https_to_the_endpoint_and_the_database_port_inside_the_vpc(handler):
    """Issue 16: with an endpoint created, HTTPS goes to the endpoint's group only; without the
    database's group, the database port stays inside the VPC's CIDR (not 0.0.0.0/0)."""
    run = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01"]), sensitive={PASSWORD})
    group = run.find("aws:ec2/securityGroup:SecurityGroup", "orders-rotation")
    endpoint_group = run.find("aws:ec2/securityGroup:SecurityGroup", "orders-secretsmanager-endpoint")
    database, https = group.inputs["egress"]
    # The VPC's CIDR, read with aws.ec2.get_vpc (the mock answers with a /16 and labels it).
    assert [a["id"] for token, a in run.mocks.calls if token == "aws:ec2/getVpc:getVpc"] == ["vpc-0abc"]
    (cidr,) = database["cidrBlocks"]
    assert run.mocks.computed[cidr] == "CIDR block of VPC vpc-0abc"
    assert https["securityGroups"] == [endpoint_group.id]
    assert "cidrBlocks" not in https and "ipv6CidrBlocks" not in https
    for egress in group.inputs["egress"]:
        assert "0.0.0.0/0" not in egress.get("cidrBlocks", []), egress
    # An existing endpoint (or a NAT): HTTPS goes out, the database port still stays in the VPC.
    existing = run_inline(login_program(handler, vpc_id="vpc-0abc", subnet_ids=["subnet-01"],
                                        secrets_manager_endpoint="existing"), sensitive={PASSWORD})
    database, https = existing.find("aws:ec2/securityGroup:SecurityGroup", "orders-rotation").inputs["egress"]
    assert https["cidrBlocks"] == ["0.0.0.0/0"] and database["cidrBlocks"] != ["0.0.0.0/0"]
