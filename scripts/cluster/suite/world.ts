/**
 * What the scenarios of one suite run share: the stacks deployed so far (each scenario leaves them
 * as it says), and the names everyone uses.
 */
import { Deployed } from "../deploy";

export interface World {
    dev?: Deployed;
    test?: Deployed;
    prod?: Deployed;
    gray?: Deployed;
}

export const DEV_NS = "sample-app-dev";
export const TEST_NS = "sample-app-test";
export const PROD_NS = "sample-app-prod";
export const GRAY_NS = "sample-app-gray";

/** Output of a Pulumi run that only the failure message shows. */
export const quiet = { onOutput: () => undefined };

/** `pulumi up` of a new stack, which waits for every workload to be ready, ends within this many seconds (README). */
export const READY_BOUND_S = 180;
