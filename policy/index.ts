/**
 * The sample-app policy pack. Run it with a preview or an update:
 *
 *   pulumi preview --policy-pack policy --policy-pack-config policy/config/<profile>.json
 *
 * where <profile> is the stack's cluster profile (minikube for dev and test,
 * ack for gray and prod). The rules live in policies.ts, their unit tests in
 * test/; this file only serves them.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("sample-app", {
    description: "sample-app's Kubernetes rules (policy/README.md, docs/policies.md): resources, probes, restricted security context, UIDs and GIDs of 10000 or more, pinned images, " +
        "no external Services, allowed storage classes, no credentials in ConfigMaps, ingress classes, scoped HTTPRoutes, HPA-owned replicas.",
    enforcementLevel: "mandatory",
    policies: [...policies],
});
