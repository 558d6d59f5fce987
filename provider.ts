/**
 * Component-provider entry: makes sample-app's components usable from every
 * Pulumi language (`pulumi package add <this repo>` generates a Python, Go,
 * .NET, Java or YAML SDK; `pulumi package get-schema <this repo>` prints the
 * schema).
 *
 * How it is reached: PulumiPlugin.yaml declares the nodejs runtime, whose
 * plugin runner (@pulumi/pulumi/cmd/run-plugin) requires the package's `main`,
 * which is this file. The schema is inferred from the TypeScript sources by
 * @pulumi/pulumi's analyzer: each component's `args` interface gives its
 * inputs, its public fields its outputs, the doc comments the descriptions.
 *
 * This file starts a gRPC server when loaded: never import it. Programs in
 * TypeScript import the components themselves ("sample-app", i.e. components/).
 */
import { componentProviderHost, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as components from "./components";

// Pulumi component packages serve the `index` module only: tokens become sample-app:index:<Component>.
components.useComponentPackageTokens();

/** The package name: resource tokens are `sample-app:index:<Component>`. */
const PACKAGE_NAME = "sample-app";

componentProviderHost({
    name: PACKAGE_NAME,
    dirname: __dirname,
    // Every ComponentResource components/index.ts exports: a new component is published without an edit here.
    components: getPulumiComponents(components),
}).catch((err: unknown) => {
    console.error(`sample-app component provider failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
});
