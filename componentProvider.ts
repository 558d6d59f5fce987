/**
 * The component provider provider.ts serves (`pulumi package add <this repo>`): @pulumi/pulumi's
 * ComponentProvider over every component components/index.ts exports, whose schema its analyzer
 * infers from the TypeScript (each `args` interface gives the inputs, the public fields the outputs,
 * the doc comments the descriptions).
 *
 * One thing the inference cannot say is added here: which properties are secret. The analyzer
 * has no notion of it, so a property whose doc comment says it is kept as a "Pulumi secret" is
 * marked `secret: true` in the schema (inputs, outputs and properties of object types). With that,
 * an SDK generated in another language wraps such an input as a secret before it leaves the
 * program, and Pulumi YAML and the SDKs keep such an output secret in the stack's state.
 *
 * Importable without side effects (tests and scripts/component-schema.ts build the same provider);
 * provider.ts starts the gRPC server.
 */
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as components from "./components";

/** The package name: resource tokens in the schema are `sample-app:index:<Component>`. */
export const PACKAGE_NAME = components.COMPONENT_PACKAGE;

/** What a doc comment says of a property that must stay secret. */
export const SECRET_DOC = /\bPulumi secret\b/;

/** The parts of a schema property this file reads and writes. */
interface PropertySpec {
    description?: string;
    secret?: boolean;
}

/** The parts of a package schema this file reads and writes. */
interface PackageSpec {
    resources?: Record<string, { inputProperties?: Record<string, PropertySpec>; properties?: Record<string, PropertySpec> }>;
    types?: Record<string, { properties?: Record<string, PropertySpec> }>;
}

/** The schema with `secret: true` on every property documented as a Pulumi secret (a new object; the input is not changed). */
export function markSecrets<T extends PackageSpec>(schema: T): T {
    const copy = structuredClone(schema);
    const mark = (props: Record<string, PropertySpec> | undefined) => {
        for (const p of Object.values(props ?? {})) {
            if (SECRET_DOC.test(p.description ?? "")) {
                p.secret = true;
            }
        }
    };
    for (const r of Object.values(copy.resources ?? {})) {
        mark(r.inputProperties);
        mark(r.properties);
    }
    for (const t of Object.values(copy.types ?? {})) {
        mark(t.properties);
    }
    return copy;
}

/** ComponentProvider whose schema marks the documented secrets (see the file's comment). */
export class SampleAppProvider extends ComponentProvider {
    private marked?: Promise<string>;

    override getSchema(): Promise<string> {
        this.marked ??= super.getSchema().then(s => JSON.stringify(markSecrets(JSON.parse(s) as PackageSpec)));
        return this.marked;
    }
}

/** The provider of every component components/index.ts exports: a new component is published without an edit here. */
export function componentProvider(): SampleAppProvider {
    return new SampleAppProvider({ name: PACKAGE_NAME, dirname: __dirname, components: getPulumiComponents(components) });
}
