from django.urls import path

from analytics.review import decision_views, quality_views, views

app_name = "review"

# Mounted under r/<slug>/ by semroute_site/urls.py.
urlpatterns = [
    path("decisions/", decision_views.decisions_list, name="decisions"),
    path("decisions/<uuid:decision_id>/", decision_views.decision_detail, name="decision"),
    path(
        "decisions/<uuid:decision_id>/feedback/",
        decision_views.decision_feedback,
        name="decision_feedback",
    ),
    path(
        "decisions/<uuid:decision_id>/review/", decision_views.decision_send, name="decision_send"
    ),
    path(
        "decisions/<uuid:decision_id>/relabel/",
        decision_views.decision_relabel,
        name="decision_relabel",
    ),
    path("review/", views.queue, name="queue"),
    path("review/bulk/", views.queue_bulk, name="bulk"),
    path("review/labels/", quality_views.labels, name="labels"),
    path("review/<int:pk>/", views.item_detail, name="item"),
    path("review/<int:pk>/resolve/", views.item_resolve, name="resolve"),
    path("review/<int:pk>/undo/", views.item_undo, name="undo"),
    path("quality/", quality_views.quality, name="quality"),
    path("quality/cell/", quality_views.cell, name="cell"),
    path("quality/clusters/", quality_views.cluster_create, name="cluster_create"),
]
