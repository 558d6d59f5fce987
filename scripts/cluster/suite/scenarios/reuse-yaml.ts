/**
 * The components from another Pulumi language: examples/reuse-yaml, a Pulumi YAML program that uses
 * the package as `pulumi package add` sets it up, deployed by the real engine (the YAML language
 * host and the component provider started from this repository), checked and destroyed
 * (scripts/engine/yaml-program.ts checkYamlProgram).
 */
import { checkYamlProgram } from "../../../engine/yaml-program";
import { HTTP_PORT, KUBECTL, STACKS_KUBECONFIG } from "../../env";
import { check, line, phase } from "../runner";

export async function reuseYaml(): Promise<void> {
    await phase("the components from a Pulumi YAML program", async () => {
        await check("examples/reuse-yaml deploys on the real engine, serves the UI and the API, previews and refreshes with no change, and destroy leaves nothing", async () => {
            const r = await checkYamlProgram({
                kubeContext: "sample-app-local", kubeconfig: STACKS_KUBECONFIG, kubectl: KUBECTL,
                url: `http://storefront.localhost:${HTTP_PORT}/`, log: m => line(`       ${m}`),
            });
            line(`       ${r.engine}: ${JSON.stringify(r.upChanges)}; ${r.phases.map(p => `${p.name} ${p.seconds.toFixed(1)}s`).join(", ")}`);
        });
    });
}
