/** What the command-line tools (plan, nftables, audit) share: argument parsing, one exit-code scheme and inert output. */
import { parseArgs, ParseArgsConfig } from "util";
import { suggestKey } from "../components/suggest";
import { escapeText } from "../components/text";

/**
 * The exit codes of plan, nftables and audit (README, Commands):
 * 0 done and nothing found; 1 a finding (the audit: a port answers that the policy
 * does not admit; the plan: the lockout guard refuses the deployment); 2 the tool
 * could not do its job (usage, config, Cloudflare's answer, files, DNS, network,
 * a missing tool).
 */
export const EXIT = { ok: 0, finding: 1, error: 2 } as const;

/**
 * A line for the terminal: every interpolated value goes through `escapeText`, so
 * text from the config, the Cloudflare answer or DNS (an ESC sequence, a bidi
 * override, a carriage return) shows as `\x1b`, `\u202e`, `\x0d` and cannot move
 * the cursor or rewrite what was printed. `--json` output does not use it.
 */
export function inert(strings: TemplateStringsArray, ...values: unknown[]): string {
    return strings.reduce((out, s, i) => out + s + (i < values.length ? escapeText(String(values[i])) : ""), "");
}

/** Bad flags or a missing required one: exit 2 with the usage line. */
export class UsageError extends Error {}

/** What a tool is run with; the process's own by default (tests pass their own). */
export interface CliContext {
    argv?: string[];
    env?: NodeJS.ProcessEnv;
    /** Flags that must be given; default `--stack`. */
    required?: readonly string[];
}

/**
 * The tool's flags that npm took for itself: `npm run plan --stack x` (no "--")
 * gives npm the flags, sets npm_config_stack, and hands the tool only "x".
 */
export function flagsTakenByNpm(known: readonly string[], argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
    return known.filter((k) => env[`npm_config_${k.replace(/-/g, "_")}`] !== undefined && !argv.some((a) => a === `--${k}` || a.startsWith(`--${k}=`)));
}

function npmHint(taken: string[], env: NodeJS.ProcessEnv): string {
    const script = env.npm_lifecycle_event ?? "<tool>";
    return `npm kept ${taken.map((k) => `--${k}`).join(", ")} for itself: npm passes flags on only after "--", as in npm run ${script} -- --stack <name>`;
}

/** parseArgs options for flags that each take one value (`--name <value>`). */
export function valueFlags<K extends string>(...names: K[]): Record<K, { type: "string" }> {
    return Object.fromEntries(names.map((n) => [n, { type: "string" as const }])) as Record<K, { type: "string" }>;
}

/**
 * Parses flags (`--stack`, or the `required` ones, must be given). An unknown flag is a usage error
 * naming the closest known one; flags that npm kept (no "--") are named with the fix.
 */
export function parseCli<T extends ParseArgsConfig>(config: T, usage: string, context: CliContext = {}): ReturnType<typeof parseArgs<T>>["values"] {
    const argv = context.argv ?? process.argv.slice(2);
    const env = context.env ?? process.env;
    const known = Object.keys(config.options ?? {});
    const taken = flagsTakenByNpm(known, argv, env);
    const fail = (problem: string) => new UsageError(`${taken.length > 0 ? `${npmHint(taken, env)}\n` : ""}${problem ? `${problem}\n` : ""}${usage}`);
    for (const arg of argv) {
        if (arg === "--") break;
        const flag = /^--([^=]+)/.exec(arg)?.[1];
        if (flag !== undefined && !known.includes(flag)) {
            const guess = suggestKey(flag, known);
            throw fail(`unknown flag --${flag}${guess ? `; did you mean --${guess}?` : ""}`);
        }
    }
    let values;
    try {
        values = parseArgs({ ...config, args: argv }).values;
    } catch (e) {
        throw fail((e as Error).message);
    }
    if ((context.required ?? ["stack"]).some((k) => !(values as Record<string, unknown>)[k])) throw fail("");
    if (taken.length > 0) process.stderr.write(`warning: ${npmHint(taken, env)}\n`);
    return values;
}

/**
 * Runs a tool's main when the file is executed: its exit code, or on error
 * "<tool> failed: <message>" and exit 1 if `isFinding(error)`, else 2 (see `EXIT`).
 */
export function runCli(module: NodeModule, tool: string, main: () => Promise<number>, isFinding: (e: unknown) => boolean = () => false): void {
    if (require.main !== module) return;
    main().then(
        (code) => process.exit(code),
        (e) => {
            // Messages quote the user's text already escaped (showText, backslashes doubled):
            // keep their line breaks and backslashes, make anything raw left visible.
            console.error(escapeText(`${tool} failed: ${(e as Error).message}`, { keepNewlines: true, keepBackslashes: true }));
            process.exit(isFinding(e) ? EXIT.finding : EXIT.error);
        },
    );
}
