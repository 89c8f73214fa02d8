"""AWS managed policies held by the operators the access matrix asks about, as data.

Source: AWS Managed Policy Reference Guide (docs.aws.amazon.com/aws-managed-policy/latest/reference/):
- SecretsManagerReadWrite, policy version v5 (edited 2024-02-22): the statements that touch
  Secrets Manager, KMS and Lambda (`BasePermissions` trimmed to those services, `LambdaPermissions`).
  The rest (CloudFormation change sets, EC2/RDS/Redshift describes, the serverless repository, tags)
  reads metadata only.
- PowerUserAccess, policy version v12 (edited 2026-02-12): everything but iam:*, organizations:*,
  account:*, plus a few read-only exceptions (not relevant to secrets).
- AdministratorAccess: Action "*" on Resource "*".
"""

SECRETS_MANAGER_READ_WRITE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "BasePermissions", "Effect": "Allow",
     "Action": ["secretsmanager:*", "kms:DescribeKey", "kms:ListAliases", "kms:ListKeys", "lambda:ListFunctions"],
     "Resource": "*"},
    {"Sid": "LambdaPermissions", "Effect": "Allow",
     "Action": ["lambda:AddPermission", "lambda:CreateFunction", "lambda:GetFunction", "lambda:InvokeFunction",
                "lambda:UpdateFunctionConfiguration"],
     "Resource": "arn:aws:lambda:*:*:function:SecretsManager*"},
]}

POWER_USER_ACCESS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
    {"Effect": "Allow",
     "Action": ["account:GetAccountInformation", "account:GetPrimaryEmail", "account:ListRegions",
                "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
                "organizations:DescribeEffectivePolicy", "organizations:DescribeOrganization"],
     "Resource": "*"},
]}

ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

MANAGED_POLICIES = {
    "SecretsManagerReadWrite": SECRETS_MANAGER_READ_WRITE,
    "PowerUserAccess": POWER_USER_ACCESS,
    "AdministratorAccess": ADMINISTRATOR_ACCESS,
}
