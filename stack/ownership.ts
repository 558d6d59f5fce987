/**
 * The program owns every field it sets. Another field manager's change to one (`kubectl edit`,
 * `kubectl set env`) is drift: `drift` (scripts/engine/stack.ts, the drift workflow) reports it and
 * `pulumi up --refresh` puts it back. Server-side apply gives a field back from another manager only
 * when the apply is forced, so every Kubernetes object the program makes carries the provider's
 * per-object switch `pulumi.com/patchForce: "true"` (its provider-wide `enablePatchForce` is newer
 * than providers still in use, the one this repository builds among them). Fields the program does
 * not set stay whoever's they are: the HPA's replicas, `kubectl rollout restart`'s annotation.
 */
import * as pulumi from "@pulumi/pulumi";

/** The annotation that makes the provider force its server-side apply. */
export const PATCH_FORCE = "pulumi.com/patchForce";

type Annotations = pulumi.Input<Record<string, pulumi.Input<string>>> | undefined;
type Metadata = pulumi.Input<{ annotations?: Annotations; [key: string]: unknown }> | undefined;

/** `annotations` with PATCH_FORCE added; plain values stay plain, so nothing known becomes unknown. */
export function withPatchForceAnnotation(annotations: Annotations): Annotations {
    if (pulumi.Output.isInstance(annotations)) {
        return annotations.apply(a => ({ ...a, [PATCH_FORCE]: "true" }));
    }
    return { ...(annotations as Record<string, pulumi.Input<string>> | undefined), [PATCH_FORCE]: "true" };
}

/** `metadata` with PATCH_FORCE among its annotations. */
export function withPatchForce(metadata: Metadata): Metadata {
    if (pulumi.Output.isInstance(metadata)) {
        return metadata.apply(m => ({ ...m, annotations: withPatchForceAnnotation(m?.annotations) }));
    }
    const m = (metadata ?? {}) as { annotations?: Annotations; [key: string]: unknown };
    return { ...m, annotations: withPatchForceAnnotation(m.annotations) };
}

/** A transformation (index.ts hands it to every component): each Kubernetes object (not the provider, not a component) gets PATCH_FORCE. */
export function forceOwnFields(args: pulumi.ResourceTransformationArgs): pulumi.ResourceTransformationResult | undefined {
    if (!(args.resource instanceof pulumi.CustomResource) || !args.type.startsWith("kubernetes:")) {
        return undefined;
    }
    return { props: { ...args.props, metadata: withPatchForce(args.props.metadata as Metadata) }, opts: args.opts };
}
