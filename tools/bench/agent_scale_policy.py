#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write a large policy for tools/bench/agent.sh --scale: N endpoints (apps of
5 replicas, addresses from 198.18.0.0/15) and one NetworkPolicy per app with
5 ingress rules (from 5 other apps, one port each): about N rules. One JSON
List document on stdout."""
import ipaddress
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
apps = max(1, n // 5)
base = int(ipaddress.IPv4Address("198.18.0.1"))
items = [{"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": f"ns{k}"}} for k in range(100)]
for i in range(n):
    a = i // 5
    items.append({
        "apiVersion": "bpfmesh.io/v1", "kind": "Endpoint",
        "metadata": {"name": f"app{a}-{i % 5}", "namespace": f"ns{a % 100}",
                     "labels": {"app": f"app{a}"}},
        "spec": {"identity": f"spiffe://scale.bpfmesh/ns/ns{a % 100}/sa/app{a}",
                 "addresses": [str(ipaddress.IPv4Address(base + i))]}})
for a in range(apps):
    rules = [{"from": [{"namespaceSelector": {},
                        "podSelector": {"matchLabels": {"app": f"app{(a + k + 1) % apps}"}}}],
              "ports": [{"port": 8000 + k}]} for k in range(5)]
    items.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"app{a}", "namespace": f"ns{a % 100}"},
        "spec": {"podSelector": {"matchLabels": {"app": f"app{a}"}},
                 "policyTypes": ["Ingress"], "ingress": rules}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout,
          separators=(",", ":"))
