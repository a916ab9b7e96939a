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

export function describeNetns(name: string, fn: () => void): void {
    const reason = reasonForThisRun();
    if (!reason) {
        describe(name, fn);
    } else if (inCi()) {
        describe(name, () => {
            test("network namespaces can be made (required when CI is set)", () => {
                throw new Error(`${reason}; ${NETNS_HOW}`);
            });
        });
    } else {
        describe.skip(name, fn);
    }
}
