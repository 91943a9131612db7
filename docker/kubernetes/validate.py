#!/usr/bin/env python3
"""Checks FlinkDeployment YAML files against the Flink Kubernetes Operator's published CRD schema.

    curl -sLo /tmp/flinkdeployments.yml https://raw.githubusercontent.com/apache/flink-kubernetes-operator/main/helm/flink-kubernetes-operator/crds/flinkdeployments.flink.apache.org-v1.yml
    python3 docker/kubernetes/validate.py /tmp/flinkdeployments.yml docker/kubernetes/flink-glm-gpu.yaml

Kubernetes does not reject unknown fields of a CRD: it prunes them, so a misspelt field would vanish
silently. Every object schema that lists its properties (and neither allows extra ones nor preserves
unknown fields) is therefore closed here, so a field the operator does not know fails the check.
Needs PyYAML and jsonschema.
"""
import sys

import jsonschema
import yaml


def closed(schema):
    """The schema with additionalProperties: false wherever Kubernetes would prune unknown fields."""
    if isinstance(schema, dict):
        schema = {k: closed(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def main(crd_path, *files):
    crd = yaml.safe_load(open(crd_path))
    versions = {v["name"]: closed(v["schema"]["openAPIV3Schema"]) for v in crd["spec"]["versions"]}
    for schema in versions.values():
        # Every Kubernetes object has these; the CRD's schema leaves them to the API server.
        schema["properties"].update(apiVersion={"type": "string"}, kind={"type": "string"},
                                    metadata={"type": "object"})
    failures = 0
    for path in files:
        for doc in yaml.safe_load_all(open(path)):
            version = doc["apiVersion"].split("/")[1]
            errors = sorted(jsonschema.Draft7Validator(versions[version]).iter_errors(doc), key=str)
            for e in errors:
                print(f"{path}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
            failures += len(errors)
            if not errors:
                print(f"{path}: {doc['kind']} {doc['metadata']['name']} matches the {version} schema")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
