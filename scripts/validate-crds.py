"""Validates custom resources against the openAPIV3Schema of their CRDs, strictly.

    validate-crds.py CRD_DIR FILE...

Every object in FILE... whose API group one of the CRDs in CRD_DIR defines is
checked against the schema of its served version, the way the API server
checks a request with `kubectl apply --validate=strict`: types, enums,
patterns, lengths, bounds and required fields, and unknown fields are errors
(the API server would silently prune them otherwise), in the object, its spec
and its metadata. Objects of other groups are left to kubernetes-validate.
CEL rules (x-kubernetes-validations) are not evaluated: they are counted and
reported, and only a real API server checks them.

Runs with the jsonschema and PyYAML of the kubernetes-validate venv (no other
dependency). Exit status 1 when any object is invalid or its kind/version is
not served by the CRDs.
"""
import copy
import glob
import os
import sys

import jsonschema
import yaml

# ObjectMeta fields a client may send; labels and annotations are string maps.
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "generateName": {"type": "string"},
    },
}

SCHEMA_KEYS = {
    "type", "properties", "required", "items", "enum", "pattern", "format", "default", "description",
    "maxLength", "minLength", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum",
    "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
    "additionalProperties", "oneOf", "anyOf", "allOf", "not", "nullable",
}


def strict(schema, rules):
    """The CRD's structural schema as a JSON Schema in which unknown fields are errors."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    rules[0] += len(schema.get("x-kubernetes-validations", []))
    for key, value in schema.items():
        if key not in SCHEMA_KEYS:
            continue  # x-kubernetes-* markers, handled below or not validated offline
        if key == "properties":
            out[key] = {k: strict(v, rules) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strict(value, rules)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [strict(v, rules) for v in value]
        elif key == "format":
            continue  # Kubernetes formats (int32, date-time, ...) are not JSON Schema's
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable"):
        out.pop("nullable", None)
        if "type" in out:
            out["type"] = [out["type"], "null"]
    if (out.get("type") == "object" and "additionalProperties" not in out
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
        out.setdefault("properties", {})
    return out


def load_crds(crd_dir):
    """(group, version, kind) -> (strict schema, CEL rule count), for served versions."""
    served = {}
    files = sorted(glob.glob(os.path.join(crd_dir, "*.yaml")))
    if not files:
        sys.exit(f"validate-crds: no CRD YAML in {crd_dir}")
    for path in files:
        with open(path, encoding="utf-8") as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for v in spec["versions"]:
                    if not v.get("served"):
                        continue
                    rules = [0]
                    schema = strict(copy.deepcopy(v["schema"]["openAPIV3Schema"]), rules)
                    schema["properties"]["metadata"] = OBJECT_META
                    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
                    served[(spec["group"], v["name"], spec["names"]["kind"])] = (schema, rules[0])
    return served


def path_of(error):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "."


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: validate-crds.py CRD_DIR FILE...")
    served = load_crds(argv[0])
    groups = {g for g, _, _ in served}
    checked = failed = cel = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for obj in docs:
            group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
            if group not in groups:
                continue
            checked += 1
            key = (group, version, obj.get("kind"))
            where = f"{path}: {obj.get('kind')} {obj.get('metadata', {}).get('name')}"
            if key not in served:
                versions = sorted(v for g, v, k in served if g == group and k == obj.get("kind"))
                print(f"FAIL {where}: {obj.get('apiVersion')} {obj.get('kind')} is not served by these CRDs"
                      f" (served versions of {obj.get('kind')}: {', '.join(versions) or 'none'})")
                failed += 1
                continue
            schema, rules = served[key]
            cel += rules
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.absolute_path))
            if errors:
                failed += 1
                print(f"FAIL {where}:")
                for e in errors:
                    print(f"     {path_of(e)}: {e.message}")
    print(f"validate-crds: {checked} objects checked, {failed} invalid"
          f" ({cel} CEL rules in their schemas not evaluated offline)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
