/**
 * Type tokens of the components.
 *
 * In TypeScript programs (this one and any that imports components/) a
 * component's token is `sample-app:components:<Name>`. Served as a Pulumi
 * component package to other languages (provider.ts), Pulumi only supports the
 * `index` module: the schema names `sample-app:index:<Name>`, and the
 * component a program in another language constructs must carry that token,
 * so provider.ts switches the module before it serves anything.
 */
let tokenModule = "components";

/** The type token of the component class `name`. */
export function componentType(name: string): string {
    return `sample-app:${tokenModule}:${name}`;
}

/**
 * Use the `index` module, as a component package must (or, with `false`, the
 * `components` module again). Call it before creating any component.
 */
export function useComponentPackageTokens(on = true): void {
    tokenModule = on ? "index" : "components";
}
