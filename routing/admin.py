"""Django admin for the routing configuration. Every save goes through the versioning service."""

from __future__ import annotations

import os

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count

from routing.models import (
    APIKey,
    ComplexityExample,
    Example,
    Intent,
    ModelTier,
    Router,
    RouterVersion,
    Rule,
)
from routing.services.api_keys import api_key_hash, api_key_new_secret, api_key_revoke
from routing.services.versioning import router_bump_version
from routing.tasks import example_vectors_enqueue


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened are never edited by hand (versions here, the decision log in analytics)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class VersionedAdmin(admin.ModelAdmin):
    """Saves and deletes bump the owning router's version, once per admin action."""

    examples_change = False

    def router_of(self, obj) -> Router:
        return obj.router

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        verb = "Changed" if change else "Added"
        router_bump_version(
            router=self.router_of(obj),
            user=request.user,
            summary=f"{verb} {obj._meta.verbose_name} {obj} (admin)",
        )
        if self.examples_change or any(fs.model in (Example, ComplexityExample) for fs in formsets):
            example_vectors_enqueue(self.router_of(obj).pk)

    def delete_model(self, request, obj):
        router = self.router_of(obj)
        description = f"Deleted {obj._meta.verbose_name} {obj} (admin)"
        with transaction.atomic():
            super().delete_model(request, obj)
            if not isinstance(obj, Router):
                router_bump_version(router=router, user=request.user, summary=description)

    def delete_queryset(self, request, queryset):
        routers = {self.router_of(obj).pk: self.router_of(obj) for obj in queryset}
        count = queryset.count()
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            if queryset.model is not Router:
                for router in routers.values():
                    router_bump_version(
                        router=router,
                        user=request.user,
                        summary=f"Deleted {count} {queryset.model._meta.verbose_name_plural} (admin)",
                    )


class ModelTierInline(admin.TabularInline):
    model = ModelTier
    extra = 0
    fields = (
        "name",
        "rank",
        "provider",
        "model",
        "price_in_per_mtok",
        "price_out_per_mtok",
        "quality",
        "latency_ms",
        "enabled",
    )


class ComplexityExampleInline(admin.TabularInline):
    model = ComplexityExample
    extra = 0
    fields = ("level", "text", "source", "encoder")
    readonly_fields = ("encoder",)


@admin.register(Router)
class RouterAdmin(VersionedAdmin):
    list_display = (
        "slug",
        "name",
        "version",
        "method",
        "intent_count",
        "example_count",
        "encoders",
        "updated_at",
    )
    search_fields = ("slug", "name", "description")
    list_filter = ("method",)
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = (ModelTierInline, ComplexityExampleInline)
    fieldsets = (
        (None, {"fields": ("slug", "name", "description", "version", "created_at", "updated_at")}),
        ("Routing policy", {"fields": Router.POLICY_FIELDS}),
    )

    def router_of(self, obj) -> Router:
        return obj

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=Router.EDITABLE_FIELDS if change else None)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                intent_total=Count("intents", distinct=True),
                example_total=Count("intents__examples", distinct=True),
            )
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        router_id = request.resolver_match.kwargs.get("object_id")
        if db_field.name == "fallback_intent":
            kwargs["queryset"] = Intent.objects.filter(router_id=router_id)
        if db_field.name == "fallback_tier":
            kwargs["queryset"] = ModelTier.objects.filter(router_id=router_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="intents", ordering="intent_total")
    def intent_count(self, obj: Router) -> int:
        return obj.intent_total

    @admin.display(description="examples", ordering="example_total")
    def example_count(self, obj: Router) -> int:
        return obj.example_total

    @admin.display(description="encoder")
    def encoders(self, obj: Router) -> str:
        names = (
            Example.objects.filter(intent__router=obj)
            .exclude(encoder="")
            .values_list("encoder", flat=True)
            .distinct()
        )
        return ", ".join(sorted(names)) or "—"


class ExampleInline(admin.TabularInline):
    model = Example
    extra = 3
    fields = ("text", "source", "encoder", "has_vector", "created_at")
    readonly_fields = ("encoder", "has_vector", "created_at")

    @admin.display(boolean=True, description="vector")
    def has_vector(self, obj: Example) -> bool:
        return obj.vector is not None


@admin.register(Intent)
class IntentAdmin(VersionedAdmin):
    list_display = (
        "name",
        "router",
        "handler",
        "example_count",
        "threshold",
        "min_tier",
        "enabled",
    )
    list_filter = ("router", "enabled")
    search_fields = ("name", "description", "handler", "examples__text")
    list_select_related = ("router", "min_tier")
    inlines = (ExampleInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).with_example_count()

    @admin.display(description="examples", ordering="example_count")
    def example_count(self, obj: Intent) -> int:
        return obj.example_count


@admin.register(Rule)
class RuleAdmin(VersionedAdmin):
    list_display = ("pattern", "kind", "action", "priority", "intent", "tier", "enabled", "router")
    list_filter = ("router", "kind", "action", "enabled")
    search_fields = ("pattern", "reason")
    list_select_related = ("router", "intent", "tier")


@admin.register(ModelTier)
class ModelTierAdmin(VersionedAdmin):
    list_display = (
        "name",
        "router",
        "rank",
        "provider",
        "model",
        "price_in_per_mtok",
        "price_out_per_mtok",
        "quality",
        "latency_ms",
        "key_present",
        "enabled",
    )
    list_filter = ("router", "provider", "enabled")
    search_fields = ("name", "model")
    list_select_related = ("router",)

    @admin.display(boolean=True, description="key set")
    def key_present(self, obj: ModelTier) -> bool:
        return bool(obj.api_key_env and os.environ.get(obj.api_key_env))


@admin.register(Example)
class ExampleAdmin(VersionedAdmin):
    examples_change = True
    list_display = ("text", "intent", "source", "encoder", "created_at")
    list_filter = ("intent__router", "source", "encoder")
    search_fields = ("text", "intent__name")
    list_select_related = ("intent__router",)
    readonly_fields = ("encoder", "created_at")

    def router_of(self, obj) -> Router:
        return obj.intent.router


@admin.register(ComplexityExample)
class ComplexityExampleAdmin(VersionedAdmin):
    examples_change = True
    list_display = ("text", "level", "router", "source", "encoder")
    list_filter = ("router", "level", "source")
    search_fields = ("text",)
    readonly_fields = ("encoder", "created_at")


@admin.register(RouterVersion)
class RouterVersionAdmin(ReadOnlyAdmin):
    list_display = ("router", "number", "summary", "created_by", "created_at")
    list_filter = ("router",)
    search_fields = ("summary",)
    readonly_fields = ("router", "number", "summary", "config", "created_by", "created_at")


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    filter_horizontal = ("routers",)
    actions = ("revoke",)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.prefix, raw_key = api_key_new_secret()
        obj.key_hash = api_key_hash(raw_key)
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        messages.warning(
            request, f"API key created. Copy it now, it will not be shown again: {raw_key}"
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
