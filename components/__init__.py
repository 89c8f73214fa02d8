"""app-secrets: AWS Secrets Manager secrets as Pulumi component resources.

Importing the package does not import Pulumi; import the component modules you need:
`components.secret` (Secret, RandomSecret, UserManagedSecret), `components.kms`
(CustomerManagedKey), `components.read_policy` (ReadSecretPolicy), `components.rotation_function`
(SecretRotationFunction), `components.rds` (RdsPostgresAdminLogin).
"""
