import pytest


@pytest.fixture(autouse=True)
def _fresh_routing_caches():
    """Rolled-back test transactions reuse router ids and version numbers: forget compiled routers and decisions."""
    from routing import decide, snapshots

    snapshots._compiled.clear()
    decide._local_decisions.clear()
    yield
    snapshots._compiled.clear()
    decide._local_decisions.clear()


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


HX = {"HX-Request": "true"}
