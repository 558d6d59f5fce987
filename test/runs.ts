import { runStack, StackName, StackRun } from "./harness";

const cache = new Map<string, Promise<StackRun>>();

/** The program's run for a stack with its own config, computed once per test process. */
export function stackRun(stack: StackName): Promise<StackRun> {
    let run = cache.get(stack);
    if (!run) {
        run = runStack(stack);
        cache.set(stack, run);
    }
    return run;
}
