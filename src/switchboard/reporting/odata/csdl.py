"""`$metadata`: the entity sets as CSDL XML, EDMX 4.0 (08 OD1, OD2).

Namespace `Switchboard.Reporting`, container `Reporting`; one entity type per set,
keyed by `Id`; navigation properties with their referential constraints and
bindings. No enum, complex or collection-valued structural types (OD4). The
document validates against OASIS `edmx.xsd`/`edm.xsd` (tested).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from xml.etree import ElementTree as ET

from switchboard.reporting.odata.model import CONTAINER, NAMESPACE, EntitySet, Property

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"


def metadata_xml(sets: Iterable[EntitySet]) -> bytes:
    """The CSDL document of `sets` (UTF-8, with an XML declaration)."""
    return _document(tuple(sets))


@cache
def _document(sets: tuple[EntitySet, ...]) -> bytes:
    ET.register_namespace("edmx", EDMX)
    ET.register_namespace("", EDM)
    root = ET.Element(f"{{{EDMX}}}Edmx", {"Version": "4.0"})
    services = ET.SubElement(root, f"{{{EDMX}}}DataServices")
    schema = ET.SubElement(services, f"{{{EDM}}}Schema", {"Namespace": NAMESPACE})
    by_name = {s.name: s for s in sets}
    for entity_set in sets:
        entity = ET.SubElement(schema, f"{{{EDM}}}EntityType", {"Name": entity_set.type_name})
        key = ET.SubElement(entity, f"{{{EDM}}}Key")
        ET.SubElement(key, f"{{{EDM}}}PropertyRef", {"Name": entity_set.key})
        for prop in entity_set.properties:
            ET.SubElement(entity, f"{{{EDM}}}Property", _property(prop, entity_set.key))
        for nav in entity_set.navigation:
            target = f"{NAMESPACE}.{by_name[nav.target].type_name}"
            element = ET.SubElement(
                entity,
                f"{{{EDM}}}NavigationProperty",
                {"Name": nav.name, "Type": f"Collection({target})" if nav.many else target},
            )
            if not nav.many:
                ET.SubElement(
                    element,
                    f"{{{EDM}}}ReferentialConstraint",
                    {"Property": nav.local, "ReferencedProperty": nav.remote},
                )
    container = ET.SubElement(schema, f"{{{EDM}}}EntityContainer", {"Name": CONTAINER})
    for entity_set in sets:
        element = ET.SubElement(
            container,
            f"{{{EDM}}}EntitySet",
            {"Name": entity_set.name, "EntityType": f"{NAMESPACE}.{entity_set.type_name}"},
        )
        for nav in entity_set.navigation:
            ET.SubElement(
                element,
                f"{{{EDM}}}NavigationPropertyBinding",
                {"Path": nav.name, "Target": nav.target},
            )
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def _property(prop: Property, key: str) -> dict[str, str]:
    attributes = {"Name": prop.name, "Type": prop.type}
    if not prop.nullable or prop.name == key:
        attributes["Nullable"] = "false"
    if prop.max_length is not None:
        attributes["MaxLength"] = str(prop.max_length)
    if prop.precision is not None:
        attributes["Precision"] = str(prop.precision)
    if prop.scale is not None:
        attributes["Scale"] = str(prop.scale)
    return attributes
