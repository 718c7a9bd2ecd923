"""The review room's domain errors (the API answers them in the one error shape)."""

from routing.exceptions import APIError


class ReviewConflict(APIError):
    """The action cannot apply to the item as it is now (nothing to undo, a newer version)."""

    status = 409
    code = "review_conflict"
