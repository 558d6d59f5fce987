import * as pulumi from "@pulumi/pulumi";

/**
 * Type tokens of the components: `sample-app:index:<Name>`, in a TypeScript
 * program (this one, or any that imports components/) and in a program that
 * uses the component package (provider.ts) alike. Pulumi's component provider
 * host serves only the `index` module (it refuses any other in `construct`),
 * so that is the one token both paths can share.
 *
 * Before 0.6.0 a TypeScript program registered `sample-app:components:<Name>`:
 * every component carries an alias from that token, so a stack deployed with
 * 0.5.0 updates in place. Its children, whose URNs include the parent's type,
 * inherit the alias (test/upgrade.spec.ts checks every stack's URNs).
 */

/** The package name: the first part of every token. */
export const COMPONENT_PACKAGE = "sample-app";

/** The type token of the component class `name`. */
export function componentType(name: string): string {
    return `${COMPONENT_PACKAGE}:index:${name}`;
}

/** The token the component class `name` had in TypeScript programs before 0.6.0. */
export function legacyComponentType(name: string): string {
    return `${COMPONENT_PACKAGE}:components:${name}`;
}

/** The caller's options plus the alias from the component's pre-0.6.0 token, for `super(...)`. */
export function componentOptions(name: string, opts: pulumi.ComponentResourceOptions = {}): pulumi.ComponentResourceOptions {
    return { ...opts, aliases: [...(opts.aliases ?? []), { type: legacyComponentType(name) }] };
}
