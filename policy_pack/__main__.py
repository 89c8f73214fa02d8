"""Entry point of the CrossGuard pack: `pulumi preview --policy-pack policy_pack`, or publish it
with `pulumi policy publish policy_pack` and enforce it from Pulumi Cloud. Building the PolicyPack
starts its gRPC server, so it happens only here; the policies live in `guardrails`."""

from pulumi_policy import EnforcementLevel, PolicyPack

from guardrails import POLICIES

PolicyPack(
    name="app-secrets-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
