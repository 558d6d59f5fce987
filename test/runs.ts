import { routingOverrides, RoutingMode, runStack, StackName, StackRun } from "./harness";

const cache = new Map<string, Promise<StackRun>>();

/**
 * The program's run for a stack with its own config (and, when given, put in
 * a routing mode), computed once per test process.
 */
export function stackRun(stack: StackName, mode?: RoutingMode): Promise<StackRun> {
    const key = `${stack}:${mode ?? ""}`;
    let run = cache.get(key);
    if (!run) {
        run = runStack(stack, mode ? routingOverrides(mode) : {});
        cache.set(key, run);
    }
    return run;
}
