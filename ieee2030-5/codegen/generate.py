"""Generates ieee2030-5/src/resources/generated.rs from the IEEE 2030.5 schema (with the CSIP-AUS extension).

The schema is the source of truth for every resource type: its attributes and child elements in schema order,
their XSD types, and how often each occurs. The schema itself is IEEE-copyrighted and never enters this
repository; only the structure (names, order, occurrence, primitive types) is turned into Rust declarations.

    python codegen/generate.py ../shared/ieee2030-5/csipaus-1.2/csipaus-core.xsd > src/resources/generated.rs

The test `generated_code_matches_the_schema` runs this script and compares its output with the committed file.
"""
import re
import sys

import xmlschema

SEP = "urn:ieee:std:2030.5:ns"
CSIP = "https://csipaus.org/ns"
XS = "http://www.w3.org/2001/XMLSchema"

# The resources the SDK serves and reads (issue 6); everything they contain is generated with them.
ROOTS = """
DeviceCapability EndDevice EndDeviceList Registration DeviceInformation DeviceStatus PowerStatus
FunctionSetAssignments FunctionSetAssignmentsList DERProgram DERProgramList DERControl DERControlList
DefaultDERControl DERCurve DERCurveList DER DERList DERCapability DERSettings DERStatus DERAvailability Time
UsagePoint UsagePointList MirrorUsagePoint MirrorUsagePointList MeterReading MeterReadingList
MirrorMeterReading MirrorMeterReadingList Reading ReadingList ReadingType ResponseSet ResponseSetList Response
ResponseList DERControlResponse Subscription SubscriptionList Notification NotificationList Error
""".split()

# Resources of the CSIP-AUS namespace, by element name: their type, and the root element is `csipaus:`.
CSIP_ROOTS = {"ConnectionPoint": "ConnectionPointType"}

# XSD built-in types and the Rust types that hold them.
BUILTIN = {
    "boolean": "bool",
    "string": "String",
    "anyURI": "String",
    "unsignedByte": "u8",
    "unsignedShort": "u16",
    "unsignedInt": "u32",
    "unsignedLong": "u64",
    "byte": "i8",
    "short": "i16",
    "int": "i32",
    "long": "i64",
    "integer": "i64",
}

# Field names that are Rust keywords.
KEYWORDS = {"type": "kind"}
# Names where the generic rule reads badly.
SPECIAL = {"mRID": "mrid", "lFDI": "lfdi", "sFDI": "sfdi", "pIN": "pin"}


def local(qname):
    return qname.rsplit("}", 1)[-1] if qname else qname


def namespace(qname):
    return qname[1:].split("}", 1)[0] if qname and qname.startswith("{") else ""


def snake(name):
    if name in SPECIAL:
        return SPECIAL[name]
    out = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    out = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", out)
    out = out.lower()
    return KEYWORDS.get(out, out)


def is_link(t):
    """Link and ListLink and the many named types that only restate them (DERListLink, TimeLink, ...)."""
    if not t.is_complex() or t.has_simple_content() or list(t.content.iter_elements()):
        return None
    while t is not None and t.name is not None:
        if local(t.name) in ("Link", "ListLink"):
            return local(t.name)
        t = t.base_type
    return None


def simple(t):
    """The Rust type of a simple XSD type."""
    name = local(t.name) if t.name else None
    if name and name.startswith("HexBinary") or name == "mRIDType":
        return f"HexBinary<{t.max_length}>"
    root = t
    while root.base_type is not None and namespace(root.name or "") != XS:
        root = root.base_type
    builtin = local(root.name)
    if builtin == "hexBinary":
        return f"HexBinary<{t.max_length}>"
    if builtin not in BUILTIN:
        raise SystemExit(f"no Rust type for {t.name} (built on {builtin})")
    return BUILTIN[builtin]


def facet(t):
    """The facet a value of simple type `t` must meet beyond its Rust type, as the `sep_type!` clause that
    checks it: `maxLength` of a string (octets of UTF-8, IEEE 2030.5 clause 5.2.2 on StringN) or the
    `minInclusive`/`maxInclusive` range of an integer narrower than its Rust type (Int48, UInt40, UInt48).
    hexBinary lengths are in the HexBinary<N> type already."""
    if t.is_complex():
        if not t.has_simple_content():
            return ""
        t = t.content
    max_length = min_value = max_value = None
    kind = None
    while t is not None:
        if namespace(t.name or "") == XS:
            kind = local(t.name)
            break
        facets = getattr(t, "facets", {}) or {}
        for key, value in facets.items():
            name = local(key) if key else key
            number = getattr(value, "value", None)
            if name == "maxLength" and max_length is None:
                max_length = number
            elif name == "minInclusive" and min_value is None:
                min_value = number
            elif name == "maxInclusive" and max_value is None:
                max_value = number
        t = t.base_type
    if kind in ("string", "anyURI") and max_length is not None:
        return f"; Facet::MaxLength({max_length})"
    if kind in BUILTIN and kind not in ("string", "anyURI", "boolean") and (min_value is not None or max_value is not None):
        low = min_value if min_value is not None else {"unsignedByte": 0, "unsignedShort": 0, "unsignedInt": 0, "unsignedLong": 0}.get(kind)
        if low is None:
            raise SystemExit(f"{kind}: a maximum without a minimum")
        high = max_value if max_value is not None else None
        if high is None:
            raise SystemExit(f"{kind}: a minimum without a maximum")
        return f"; Facet::Range {{ min: {low}, max: {high} }}"
    return ""


def rust_type(t):
    if t.is_simple():
        return simple(t)
    if t.has_simple_content():
        # A complex type that only wraps a value (DeviceCategoryType): the value's type.
        if t.attributes:
            raise SystemExit(f"{t.name}: simple content with attributes")
        return simple(t.content)
    link = is_link(t)
    if link:
        return link
    if local(t.name) == "Resource":
        return "Box<AnyResource>"
    if local(t.name) in ("Link", "ListLink"):
        return local(t.name)
    return local(t.name)


def main(path):
    schema = xmlschema.XMLSchema(path)
    seen = {}
    order = []

    def visit(t):
        name = local(t.name)
        if name in seen:
            return
        seen[name] = t
        if is_link(t) or name == "Resource" or t.has_simple_content():
            return
        for e in t.content.iter_elements():
            if e.type.is_complex():
                visit(e.type)
        order.append(name)

    for root in ROOTS:
        visit(schema.types[root])
    # CSIP-AUS resources carry the element's name (ConnectionPoint), not the type's (ConnectionPointType).
    csip_roots = {}
    for element, type_name in CSIP_ROOTS.items():
        t = schema.maps.types["{%s}%s" % (CSIP, type_name)]
        seen[element] = t
        csip_roots[element] = t
        order.append(element)
    # The two link types every *Link element restates.
    for link in ("Link", "ListLink"):
        seen[link] = schema.types[link]
        order.append(link)

    print("// @generated by codegen/generate.py from the IEEE 2030.5 schema (csipaus-core.xsd over sep.xsd).")
    print("// Do not edit: change the generator and run it again.")
    print()
    print("use super::any_resource;")
    print("use crate::xml::facet::Facet;")
    print("use crate::xml::sep_type;")
    print("use crate::primitives::HexBinary;")
    for name in sorted(n for n in order if not seen[n].has_simple_content()):
        t = seen[name]
        print()
        print("sep_type! {")
        print(f"    {name} in csip {{" if name in csip_roots else f"    {name} {{")
        print("        attributes {")
        for a in t.attributes.values():
            kind = "one" if a.use == "required" else "opt"
            print(f'            {snake(a.local_name)}: {kind} {simple(a.type)} = "{a.local_name}"{facet(a.type)},')
        print("        }")
        print("        elements {")
        for e in t.content.iter_elements():
            ns = "csip" if namespace(e.name) == CSIP else "sep"
            if ns == "csip" and name not in csip_roots:
                # Extensions are optional to a reader of plain IEEE 2030.5 documents.
                kind = "many" if e.max_occurs is None or e.max_occurs > 1 else "opt"
            elif e.max_occurs is None or e.max_occurs > 1:
                kind = "some" if e.min_occurs >= 1 else "many"
            else:
                kind = "one" if e.min_occurs >= 1 else "opt"
            print(f'            {snake(e.local_name)}: {kind} {rust_type(e.type)} = {ns} "{e.local_name}"{facet(e.type)},')
        print("        }")
        print("    }")
        print("}")
    print()
    print("any_resource! {")
    for root in ROOTS + list(CSIP_ROOTS):
        print(f"    {root},")
    print("}")


if __name__ == "__main__":
    main(sys.argv[1])
