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
import { accessMatrix, Check, kubectlCommand } from "../test/access-matrix";

/**
 * Asks each check's `kubectl auth can-i` question with `kubectl` (the command and any leading
 * arguments, e.g. a kubeconfig); returns one line per answer that differs from the design.
 * Throws when kubectl answers neither yes nor no.
 */
export function askCanI(checks: readonly Check[], kubectl: readonly string[] = ["kubectl"]): string[] {
    const wrong: string[] = [];
    for (const c of checks) {
        const argv = kubectlCommand(c).split(" ").slice(1);
        const out = spawnSync(kubectl[0], [...kubectl.slice(1), ...argv], { encoding: "utf8" });
        const answer = out.stdout.trim();
        if (answer !== "yes" && answer !== "no") {
            throw new Error(`${kubectlCommand(c)}: ${out.stderr.trim() || `exit ${out.status}`}`);
        }
        if ((answer === "yes") !== c.allowed) {
            wrong.push(`MISMATCH (want ${c.allowed ? "yes" : "no"}, got ${answer}): ${c.who}: ${kubectlCommand(c)}`);
        }
    }
    return wrong;
}

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
    let wrong: string[];
    try {
        wrong = askCanI(checks);
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        return 2;
    }
    for (const w of wrong) {
        process.stdout.write(`${w}\n`);
    }
    process.stdout.write(`${checks.length - wrong.length} of ${checks.length} answers as designed\n`);
    return wrong.length === 0 ? 0 : 1;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
