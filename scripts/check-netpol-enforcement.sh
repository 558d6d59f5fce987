#!/usr/bin/env bash
# Refuses an ACK cluster that would admit the stack's NetworkPolicies without enforcing them.
#
#   scripts/check-netpol-enforcement.sh <kube context>
#
# ACK enforces NetworkPolicy only with the Terway network plugin in shared-ENI mode (its DaemonSet
# kube-system/terway-eniip), and only while Terway's ConfigMap kube-system/eni-config does not set
# disable_network_policy to "true" (Alibaba Cloud: "Use network policies", "Customize Terway
# configuration parameters"; docs/ci-cd.md). On Flannel, on exclusive-ENI node pools, or with policy
# support off, every default-deny policy here is admitted and does nothing. The deploy workflow runs
# this before `pulumi up` of every ack stack (.github/workflows/deploy-stack.yml).
set -euo pipefail

context="${1:?usage: check-netpol-enforcement.sh <kube context>}"
command -v kubectl >/dev/null || { echo "::error::kubectl is needed to check that the cluster enforces NetworkPolicies"; exit 1; }
k() { kubectl --context "$context" -n kube-system "$@"; }

if ! k get daemonset terway-eniip -o name >/dev/null 2>&1; then
  others="$(k get daemonsets -o name 2>/dev/null | grep -E '/(terway|terway-eni|kube-flannel-ds)$' | tr '\n' ' ' || true)"
  echo "::error::Cluster $context has no Terway in shared-ENI mode (no DaemonSet kube-system/terway-eniip; found: ${others:-none of terway, terway-eni, kube-flannel-ds}): ACK enforces NetworkPolicies only there, so this stack's default-deny policies would do nothing. Create the cluster with Terway and NetworkPolicy support, or deploy elsewhere."
  exit 1
fi
disabled="$(k get configmap eni-config -o 'jsonpath={.data.disable_network_policy}' 2>/dev/null || true)"
if [ "$disabled" = "true" ]; then
  echo "::error::Cluster $context has NetworkPolicy support off (kube-system/eni-config disable_network_policy: \"true\"): this stack's default-deny policies would be admitted and do nothing. Turn it on (docs/ci-cd.md) before deploying."
  exit 1
fi
echo "NetworkPolicies are enforced on $context: Terway in shared-ENI mode (kube-system/terway-eniip), disable_network_policy ${disabled:-unset}"
