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
 * inputs, its public fields its outputs, the doc comments the descriptions
 * (componentProvider.ts adds which properties are secret).
 *
 * This file starts a gRPC server when loaded: never import it. Programs in
 * TypeScript import the components themselves ("sample-app", i.e. components/).
 */
import { main } from "@pulumi/pulumi/provider";
import { componentProvider } from "./componentProvider";

// Every component's type token is `sample-app:index:<Component>` (components/typeToken.ts), the only
// module a component package serves: a program gets the same token whichever way it uses them.
// The provider (componentProvider.ts: the analyzer's schema, with the documented secrets marked),
// served on the port the engine reads from stdout.
main(componentProvider(), process.argv.slice(2)).catch((err: unknown) => {
    console.error(`sample-app component provider failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
});
