"""The one NinjaAPI: every app mounts its Router under /api/v1/."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="semroute API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    description="Route queries to intents and model tiers; manage configuration; read decisions.",
)
