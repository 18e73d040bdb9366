"""The feed's entity model follows the store's tables (08 OD3-OD5)."""

from __future__ import annotations

import re

from switchboard.reporting.odata.model import DECIMAL, MS, table_properties
from switchboard.reporting.odata.sets import DECLARED_NAVIGATION, ENTITY_SETS, GUID_DECLARATIONS
from switchboard.store.schema import REPORT_TABLES, report_service_sessions

PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def test_every_column_of_every_reporting_table_is_in_the_feed() -> None:
    """A column the projection adds shows up without touching the feed."""
    published = {s.table.name: s for s in ENTITY_SETS.values() if s.table is not None}
    assert set(published) == {t.name for t in REPORT_TABLES}
    for table in REPORT_TABLES:
        columns = {c.name for c in table.columns} - {"tenant_id"}
        assert {p.column for p in published[table.name].properties} == columns, table.name


def test_declarations_name_what_exists() -> None:
    """Navigation and Guid columns are stated by hand; a renamed column drops them
    quietly in production, so this is where it shows."""
    for name, declared in DECLARED_NAVIGATION.items():
        assert ENTITY_SETS[name].navigation == declared, f"{name} lost navigation"
    columns = {c.name for t in REPORT_TABLES for c in t.columns}
    assert columns >= GUID_DECLARATIONS


def test_names_keys_and_types_follow_od4() -> None:
    for entity_set in ENTITY_SETS.values():
        names = [p.name for p in entity_set.properties]
        assert len(names) == len(set(names)), entity_set.name
        assert all(PASCAL.match(n) for n in names), names
        assert entity_set.key == "Id" and not entity_set.key_property.nullable
        for nav in entity_set.navigation:
            target = ENTITY_SETS[nav.target]
            local = entity_set.by_name[nav.local]
            remote = target.by_name[nav.remote]
            assert local.type == remote.type, (entity_set.name, nav.name)
    sessions = ENTITY_SETS["ServiceSessions"].by_name
    assert sessions["Id"].type == "Edm.Guid"
    assert sessions["ServiceId"].type == "Edm.String"  # configuration ids are any string
    assert ENTITY_SETS["ServiceSessionAggregates"].key_property.type == "Edm.String"


def test_milliseconds_are_seconds_with_three_decimals() -> None:
    by_column = {p.column: p for p in table_properties(report_service_sessions)}
    queue = by_column["queue_ms"]
    assert (queue.name, queue.type, queue.scale, queue.milliseconds) == (
        "QueueSeconds",
        DECIMAL,
        3,
        True,
    )
    assert by_column["sla_acceptance_s"].name == "SlaAcceptanceSeconds"
    assert by_column["sla_acceptance_s"].type == "Edm.Int32"
    assert by_column["started_at"].precision == 3
    assert MS == 1000
