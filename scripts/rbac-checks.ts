/**
 * The access matrix of a stack (test/access-matrix.ts) as `kubectl auth can-i`
 * questions for a real API server, one per line: the designed answer, a tab,
 * the command. With --run, asks them (kubectl on PATH, the current context or
 * $KUBECONFIG; impersonation needs a cluster-admin), prints each mismatch, and
 * exits 1 if any answer differs.
 *
 *   npx ts-node --transpile-only scripts/rbac-checks.ts <stack> [--run]
 */
import { spawnSync } from "child_process";
import { accessMatrix, kubectlCommand } from "../test/access-matrix";

function main(args: string[]): number {
    const stack = args.find(a => !a.startsWith("--"));
    if (!stack) {
        process.stderr.write("usage: rbac-checks.ts <stack> [--run]\n");
        return 2;
    }
    const checks = accessMatrix(stack);
    if (!args.includes("--run")) {
        for (const c of checks) {
            process.stdout.write(`${c.allowed ? "yes" : "no"}\t${kubectlCommand(c)}\n`);
        }
        return 0;
    }
    let wrong = 0;
    for (const c of checks) {
        const argv = kubectlCommand(c).split(" ").slice(1);
        const out = spawnSync("kubectl", argv, { encoding: "utf8" });
        const answer = out.stdout.trim();
        if (answer !== "yes" && answer !== "no") {
            process.stderr.write(`error: ${kubectlCommand(c)}: ${out.stderr.trim() || `exit ${out.status}`}\n`);
            return 2;
        }
        if ((answer === "yes") !== c.allowed) {
            wrong += 1;
            process.stdout.write(`MISMATCH (want ${c.allowed ? "yes" : "no"}, got ${answer}): ${c.who}: ${kubectlCommand(c)}\n`);
        }
    }
    process.stdout.write(`${checks.length - wrong} of ${checks.length} answers as designed\n`);
    return wrong === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
