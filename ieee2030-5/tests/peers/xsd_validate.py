"""Validates XML documents with the Python `xmlschema` package against the official IEEE 2030.5 schema, or
against the CSIP-AUS schema (which extends it) for documents that use the CSIP-AUS namespace.

    python xsd_validate.py SEP_XSD CSIPAUS_CORE_XSD FILE...

Prints one JSON object: file name -> null when valid, else the first validation error.
"""
import json
import sys

import xmlschema

sep = xmlschema.XMLSchema(sys.argv[1])
csip = xmlschema.XMLSchema(sys.argv[2])
result = {}
for path in sys.argv[3:]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    schema = csip if "https://csipaus.org/ns" in text else sep
    try:
        schema.validate(path)
        result[path] = None
    except xmlschema.XMLSchemaValidationError as e:
        result[path] = f"{e.reason} at {e.path}"
print(json.dumps(result))
