/**
 * `describe` for the suites that need network namespaces (real packets). Jest's
 * global setup checks once per run whether namespaces can be made and prints one
 * loud line when they cannot; the suites are then reported as skipped, or, with
 * CI set, fail: CI never passes without its real-packet tests.
 */
import { NETNS_ENV, NETNS_HOW, netnsUnavailable } from "./netns";

/** CI=true (or any value but "false"/"0"): skipping is not allowed. */
export const inCi = (): boolean => !!process.env.CI && !["false", "0"].includes(process.env.CI);

function reasonForThisRun(): string | undefined {
    const known = process.env[NETNS_ENV];
    return known === undefined ? netnsUnavailable() : known || undefined;
}

/** `also`: why something else the suite needs is missing (said in its own line when it is the only reason). */
export function describeNetns(name: string, fn: () => void, also?: string): void {
    const netns = reasonForThisRun();
    const reason = netns ?? also;
    if (!netns && also && !inCi()) console.warn(`*** "${name}" SKIPPED: ${also} ***`);
    if (!reason) {
        describe(name, fn);
    } else if (inCi()) {
        describe(name, () => {
            test("what the suite needs is here (required when CI is set)", () => {
                throw new Error(netns ? `${netns}; ${NETNS_HOW}` : reason);
            });
        });
    } else {
        describe.skip(name, fn);
    }
}
