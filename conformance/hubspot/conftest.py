"""Fixtures shared by the HubSpot modules: an SDK client on this module's simulator, and a custom
object (`widget`) created through the SDK."""

import pytest

from hs_helpers import create_widget_schema, sdk


@pytest.fixture(scope="module")
def client(hubspot_sim):
    """HubSpot's SDK pointed at this module's simulator, client-side validation on."""
    return sdk(hubspot_sim)


@pytest.fixture(scope="module")
def widget_schema(client):
    """The `widget` custom object, as the SDK's create answered it."""
    return create_widget_schema(client)


@pytest.fixture(scope="module")
def widget(widget_schema):
    """The `widget` object's type id (`2-...`)."""
    return widget_schema.object_type_id
