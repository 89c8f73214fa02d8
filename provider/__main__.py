"""Hosts the app-secrets components as a Pulumi component provider (schema inferred from
app_secrets.package); Pulumi runs this when a program uses the package added with
`pulumi package add`."""

from pulumi.provider.experimental import component_provider_host

from app_secrets.package import COMPONENTS, PACKAGE_NAME, package_version

if __name__ == "__main__":
    component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=package_version())
