/** What the command-line tools (plan, nftables, audit) share: argument parsing and exit codes. */
import { parseArgs, ParseArgsConfig } from "util";

/** Bad flags or a missing required one: exit 2 with the usage line. */
export class UsageError extends Error {}

/** Parses flags (`--stack` is always required); unknown flags are usage errors. */
export function parseCli<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>>["values"] {
    let values;
    try {
        values = parseArgs(config).values;
    } catch (e) {
        throw new UsageError(`${(e as Error).message}\n${usage}`);
    }
    if (!(values as Record<string, unknown>).stack) throw new UsageError(usage);
    return values;
}

/**
 * Runs a tool's main when the file is executed: its exit code, or on error
 * "<tool> failed: <message>" and `exitCodeOf(error)` (usage errors: 2).
 */
export function runCli(module: NodeModule, tool: string, main: () => Promise<number>, exitCodeOf: (e: unknown) => number = (e) => (e instanceof UsageError ? 2 : 1)): void {
    if (require.main !== module) return;
    main().then(
        (code) => process.exit(code),
        (e) => {
            console.error(`${tool} failed: ${(e as Error).message}`);
            process.exit(exitCodeOf(e));
        },
    );
}
