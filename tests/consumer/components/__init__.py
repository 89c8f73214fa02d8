"""The consumer program's own `components` package: it must not shadow, or be shadowed by, the
installed app_secrets library."""

APP = "consumer-app"
