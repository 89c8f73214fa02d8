"""Which input changes make the provider REPLACE a resource (delete + create) instead of updating
it, for every resource type this project creates. Pure data.

pulumi-aws is a bridge over terraform-provider-aws: a property marked `ForceNew: true` in the
Terraform schema (or `RequiresReplace` in the plugin-framework resources) is a replacement in
Pulumi. The table names the Pulumi (camelCase) input for each such Terraform attribute, and the
file of hashicorp/terraform-provider-aws it was read from. pulumi-random follows
terraform-provider-random the same way.

Each rule was read in the file named beside it (the schema's `ForceNew`, or the plan modifiers
`RequiresReplace`). Only inputs this project can set matter; attributes it never sets are listed
when cheap, so a future input does not slip through unnoticed.
"""

from __future__ import annotations

TF_AWS = "hashicorp/terraform-provider-aws"

# type token -> (inputs whose change forces replacement, where the rule is written)
FORCE_NEW: dict[str, tuple[frozenset[str], str]] = {
    "aws:secretsmanager/secret:Secret": (
        frozenset({"name", "namePrefix"}),
        "internal/service/secretsmanager/secret.go"),  # kms_key_id, description, replica: in place
    "aws:secretsmanager/secretVersion:SecretVersion": (
        frozenset({"secretId", "secretString", "secretBinary", "secretStringWoVersion"}),
        "internal/service/secretsmanager/secret_version.go"),  # version_stages: in place
    "aws:secretsmanager/secretPolicy:SecretPolicy": (
        frozenset({"secretArn"}),
        "internal/service/secretsmanager/secret_policy.go"),
    "aws:secretsmanager/secretRotation:SecretRotation": (
        frozenset({"secretId"}),
        "internal/service/secretsmanager/secret_rotation.go"),
    "aws:kms/key:Key": (
        frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"}),
        "internal/service/kms/key.go"),  # policy, description, rotation, deletion window: in place
    "aws:kms/alias:Alias": (
        frozenset({"name", "namePrefix"}),
        "internal/service/kms/alias.go"),  # target_key_id: in place (UpdateAlias)
    "aws:iam/role:Role": (
        frozenset({"name", "namePrefix", "path"}),
        "internal/service/iam/role.go"),
    "aws:iam/rolePolicy:RolePolicy": (
        frozenset({"name", "namePrefix", "role"}),
        "internal/service/iam/role_policy.go"),
    "aws:iam/policy:Policy": (
        frozenset({"name", "namePrefix", "path", "description"}),
        "internal/service/iam/policy.go"),  # policy: a new policy version, in place
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        frozenset({"role", "policyArn"}),
        "internal/service/iam/role_policy_attachment.go"),
    "aws:lambda/function:Function": (
        frozenset({"name", "packageType", "tenancyConfig"}),  # Pulumi's `name` is function_name
        "internal/service/lambda/function.go"),
    "aws:lambda/layerVersion:LayerVersion": (
        # The resource has no Update: every argument is ForceNew.
        frozenset({"layerName", "code", "s3Bucket", "s3Key", "s3ObjectVersion", "compatibleRuntimes",
                   "compatibleArchitectures", "description", "licenseInfo", "sourceCodeHash"}),
        "internal/service/lambda/layer_version.go"),
    "aws:lambda/permission:Permission": (
        # No Update either.
        frozenset({"action", "eventSourceToken", "function", "functionUrlAuthType", "invokedViaFunctionUrl",
                   "principal", "principalOrgId", "qualifier", "sourceAccount", "sourceArn", "statementId",
                   "statementIdPrefix"}),
        "internal/service/lambda/permission.go"),
    "aws:ec2/securityGroup:SecurityGroup": (
        frozenset({"name", "namePrefix", "description", "vpcId"}),
        "internal/service/ec2/vpc_security_group.go"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        # (ModifyPlan also replaces when the source kind changes, cidr <-> group; ours is always a group)
        frozenset({"securityGroupId"}),
        "internal/service/ec2/vpc_security_group_ingress_rule.go"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (
        # private_dns_enabled forces a new endpoint only for non-Interface types (CustomizeDiff); subnet_ids,
        # security_group_ids, policy, tags: in place. (Nested dns_options.private_dns_* are ForceNew too.)
        frozenset({"vpcId", "vpcEndpointType", "serviceName", "serviceNetworkArn", "resourceConfigurationArn",
                   "serviceRegion"}),
        "internal/service/ec2/vpc_endpoint.go"),
    "aws:cloudwatch/logGroup:LogGroup": (
        frozenset({"name", "namePrefix", "logGroupClass"}),
        "internal/service/logs/group.go"),  # retention_in_days, kms_key_id: in place
    # issue 20: rotation failure alerts
    "aws:cloudwatch/eventRule:EventRule": (
        frozenset({"name", "namePrefix", "eventBusName"}),
        "internal/service/events/rule.go"),  # event_pattern, description, state: in place (PutRule)
    "aws:cloudwatch/eventTarget:EventTarget": (
        frozenset({"rule", "targetId", "eventBusName"}),
        "internal/service/events/target.go"),  # arn: in place
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        frozenset({"name"}),  # Terraform's alarm_name is Pulumi's `name`
        "internal/service/cloudwatch/metric_alarm.go"),
    "aws:sns/topic:Topic": (
        frozenset({"name", "namePrefix", "fifoTopic"}),
        "internal/service/sns/topic.go"),  # kms_master_key_id, policy: in place
    "aws:sns/topicPolicy:TopicPolicy": (
        frozenset({"arn"}),
        "internal/service/sns/topic_policy.go"),
    "random:index/randomPassword:RandomPassword": (
        # Every argument RequiresReplace (passwordSchemaV3): a new value is generated.
        frozenset({"length", "special", "upper", "lower", "numeric", "number", "minUpper", "minLower",
                   "minNumeric", "minSpecial", "overrideSpecial", "keepers"}),
        "hashicorp/terraform-provider-random internal/provider/resource_password.go"),
}

# Resources whose physical name must be unique: a replacement that keeps the name, or a create
# beside a delete of the same name, collides (Pulumi creates the new one before deleting the old).
NAMED_TYPES = frozenset({
    "aws:secretsmanager/secret:Secret", "aws:kms/alias:Alias", "aws:iam/role:Role", "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy", "aws:lambda/function:Function", "aws:ec2/securityGroup:SecurityGroup",
    "aws:cloudwatch/logGroup:LogGroup",
})


def replaces(type_: str, changed: set[str]) -> list[str]:
    """The changed inputs that force a replacement of a resource of this type."""
    force_new, _ = FORCE_NEW.get(type_, (frozenset(), ""))
    return sorted(changed & force_new)


def source_of(type_: str) -> str:
    return FORCE_NEW.get(type_, (frozenset(), ""))[1]
