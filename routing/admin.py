"""Django admin for the routing configuration. Saves go through the same services as the console,
the API and the import: the router's lock and one version per admin action, vectors enqueued after
commit, examples checked and added by routing/services/examples.py, API keys by api_key_create."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
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
from routing.provider_keys import provider_key
from routing.services.api_keys import api_key_create, api_key_revoke
from routing.services.examples import (
    example_add,
    example_owners,
    example_text_check,
    example_text_clean,
)
from routing.services.versioning import router_bump_version, router_lock
from routing.tasks import example_vectors_enqueue


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened are never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class VersionedAdmin(admin.ModelAdmin):
    """One admin action is one configuration change: under the router's lock (the admin's view
    is one transaction), one new version, vectors enqueued after commit when examples changed."""

    examples_change = False

    def router_of(self, obj) -> Router:
        return obj.router

    def save_model(self, request, obj, form, change):
        if change or not isinstance(obj, Router):
            router_lock(self.router_of(obj))
        super().save_model(request, obj, form, change)

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
            if not isinstance(obj, Router):
                router_lock(router)
            super().delete_model(request, obj)
            if not isinstance(obj, Router):
                router_bump_version(router=router, user=request.user, summary=description)

    def delete_queryset(self, request, queryset):
        routers = {self.router_of(obj).pk: self.router_of(obj) for obj in queryset}
        count = queryset.count()
        with transaction.atomic():
            if queryset.model is not Router:
                for router in routers.values():
                    router_lock(router)
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


class EmbeddedTextFormSet(forms.BaseInlineFormSet):
    """An edited text loses its vector (it is recomputed after commit); texts are checked as the
    example services check them."""

    def clean(self):
        super().clean()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            if "text" in form.changed_data and form.instance.pk:
                form.instance.vector, form.instance.encoder = None, ""


class ExampleFormSet(EmbeddedTextFormSet):
    def clean(self):
        super().clean()
        intent = self.instance
        new_texts = {}
        for form in self.forms:
            text = (form.cleaned_data or {}).get("text")
            if not text or self._should_delete_form(form) or "text" not in form.changed_data:
                continue
            try:
                text = example_text_clean(text)
            except ValidationError as exc:
                form.add_error("text", exc.messages[0])
                continue
            form.cleaned_data["text"] = form.instance.text = text
            new_texts[text] = form
        for text, owner in example_owners(intent=intent, texts=new_texts).items():
            new_texts[text].add_error("text", f"Already an example of intent {owner.intent.name}.")


class ComplexityExampleInline(admin.TabularInline):
    model = ComplexityExample
    formset = EmbeddedTextFormSet
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
        if change:
            router_lock(obj)
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
    formset = ExampleFormSet
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

    def save_formset(self, request, form, formset, change):
        if formset.model is not Example:
            return super().save_formset(request, form, formset, change)
        examples = formset.save(commit=False)
        for example in examples:
            if example.pk is None:  # recorded as example_add records it
                example.created_by = request.user
            example.save()
        for example in formset.deleted_objects:
            example.delete()

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
        return bool(obj.api_key_env and provider_key(obj.api_key_env))


class ExampleAdminForm(forms.ModelForm):
    class Meta:
        model = Example
        fields = ("intent", "text", "source")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and cleaned.get("intent") and cleaned.get("text"):
            try:
                cleaned["text"] = example_text_check(intent=cleaned["intent"], text=cleaned["text"])
            except ValidationError as exc:
                self.add_error("text", exc.messages[0])
        return cleaned


@admin.register(Example)
class ExampleAdmin(VersionedAdmin):
    """Adding goes through example_add; text and intent are fixed once saved (delete and add,
    or move it in the console), so a stored vector always belongs to its text."""

    form = ExampleAdminForm
    examples_change = True
    list_display = ("text", "intent", "source", "encoder", "created_at")
    list_filter = ("intent__router", "source", "encoder")
    search_fields = ("text", "intent__name")
    list_select_related = ("intent__router",)
    readonly_fields = ("encoder", "created_at")

    def get_readonly_fields(self, request, obj=None):
        fixed = ("intent", "text") if obj is not None else ()
        return (*fixed, *self.readonly_fields)

    def router_of(self, obj) -> Router:
        return obj.intent.router

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        added = example_add(intent=obj.intent, text=obj.text, source=obj.source, user=request.user)
        obj.pk, obj._state.adding, obj._state.db = added.pk, False, added._state.db

    def save_related(self, request, form, formsets, change):
        if change:  # example_add made the new example's version
            super().save_related(request, form, formsets, change)


@admin.register(ComplexityExample)
class ComplexityExampleAdmin(VersionedAdmin):
    examples_change = True
    list_display = ("text", "level", "router", "source", "encoder")
    list_filter = ("router", "level", "source")
    search_fields = ("text",)
    readonly_fields = ("encoder", "created_at")

    def get_readonly_fields(self, request, obj=None):
        fixed = ("router", "level", "text") if obj is not None else ()
        return (*fixed, *self.readonly_fields)


@admin.register(RouterVersion)
class RouterVersionAdmin(ReadOnlyAdmin):
    list_display = ("router", "number", "summary", "author", "created_at")
    list_filter = ("router",)
    search_fields = ("summary", "author_label")
    list_select_related = ("router", "created_by")
    readonly_fields = (
        "router",
        "number",
        "summary",
        "config",
        "created_by",
        "author_label",
        "created_at",
    )


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
        key, raw_key = api_key_create(
            name=obj.name,
            scopes=obj.scopes,
            routers=form.cleaned_data.get("routers") or (),
            rate_limit_per_minute=obj.rate_limit_per_minute,
            user=request.user,
        )
        # The admin then saves the form's many-to-many fields on `obj`: make it the created key.
        obj.pk, obj.prefix, obj.key_hash, obj.created_by = (
            key.pk,
            key.prefix,
            key.key_hash,
            key.created_by,
        )
        obj._state.adding, obj._state.db = False, key._state.db
        messages.warning(
            request, f"API key created. Copy it now, it will not be shown again: {raw_key}"
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
