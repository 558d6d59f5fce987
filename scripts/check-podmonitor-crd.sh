#!/usr/bin/env bash
# Refuses a cluster without the PodMonitor CRD for a stack that finds its API by PodMonitor.
#
#   scripts/check-podmonitor-crd.sh <kube context> <stack file>
#
# A stack file that sets `sample-app:metricsDiscovery: podMonitor` (prod and gray) makes a
# monitoring.coreos.com/v1 PodMonitor. The CRD comes with the Prometheus Operator or, on ACK, with
# Managed Service for Prometheus (the ack-arms-prometheus component). Without it `pulumi up` would
# create every other object and then fail on the unknown kind, so the deploy workflow runs this
# before `pulumi up` (.github/workflows/deploy-stack.yml). Other stacks pass without a look.
set -euo pipefail

context="${1:?usage: check-podmonitor-crd.sh <kube context> <stack file>}"
file="${2:?usage: check-podmonitor-crd.sh <kube context> <stack file>}"
[ -f "$file" ] || { echo "::error::No stack file $file"; exit 1; }
if ! grep -Eq '^[[:space:]]+"?sample-app:metricsDiscovery"?:[[:space:]]*"?podMonitor"?[[:space:]]*(#.*)?$' "$file"; then
  echo "$file does not set metricsDiscovery: podMonitor; no PodMonitor CRD needed"
  exit 0
fi
command -v kubectl >/dev/null || { echo "::error::kubectl is needed to check that the cluster has the PodMonitor CRD"; exit 1; }
if ! kubectl --context "$context" get crd podmonitors.monitoring.coreos.com -o name >/dev/null 2>&1; then
  echo "::error::Cluster $context has no CRD podmonitors.monitoring.coreos.com, and $file sets metricsDiscovery: podMonitor: pulumi up would fail on the PodMonitor. On ACK install Managed Service for Prometheus (the ack-arms-prometheus component) and turn on its Pod Monitor collection; elsewhere install the Prometheus Operator; or set metricsDiscovery: annotations (docs/day-2.md, Metrics)."
  exit 1
fi
echo "Cluster $context has the PodMonitor CRD that $file's metricsDiscovery: podMonitor needs"
