import * as pulumi from "@pulumi/pulumi";

/**
 * Runs `build` (a pure builder that throws on bad args) for `component`, and turns what it throws
 * into a `pulumi.ResourceError` attached to the component, as Pulumi's own components do: the
 * engine then names the component's URN with the message.
 */
export function checkArgs<T>(component: pulumi.Resource, build: () => T): T {
    try {
        return build();
    } catch (e) {
        if (e instanceof pulumi.ResourceError) {
            throw e;
        }
        throw new pulumi.ResourceError(e instanceof Error ? e.message : String(e), component);
    }
}
