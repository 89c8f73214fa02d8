"""app_secrets: AWS Secrets Manager secrets as Pulumi component resources (the installable library).

Importing the package does not import Pulumi; import the component modules you need:
`app_secrets.secret` (Secret, RandomSecret, UserManagedSecret), `app_secrets.kms`
(CustomerManagedKey), `app_secrets.read_policy` (ReadSecretPolicy), `app_secrets.rotation_function`
(SecretRotationFunction), `app_secrets.rds` (RdsPostgresAdminLogin), `app_secrets.login` (RdsPostgresLogin). The pure helpers they use:
`policies` (policy documents), `naming`, `packaging` (reproducible Lambda archives), `grants`, `tls`.
"""
