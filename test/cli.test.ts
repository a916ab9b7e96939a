// The tools' shared flag parser (scripts/cli.ts), in process: did-you-mean, required
// flags, and the flags npm keeps when "--" is missing.
import { flagsTakenByNpm, parseCli, UsageError, valueFlags } from "../scripts/cli";

const options = { ...valueFlags("stack", "ranges-file", "firewall"), json: { type: "boolean" as const, default: false } };
const USAGE = "usage: npm run plan -- --stack <name>";
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}, required?: string[]) => parseCli({ options }, USAGE, { argv, env, required });

test("flags are parsed; --stack is required by default, or the flags named", () => {
    expect(parse(["--stack", "web", "--json"])).toEqual({ stack: "web", json: true });
    expect(() => parse(["--json"])).toThrow(new UsageError(USAGE));
    expect(parse(["--firewall", "x"], {}, ["firewall"])).toEqual({ firewall: "x", json: false });
    expect(() => parse(["--stack", "web"], {}, ["firewall"])).toThrow(USAGE);
});

test.each([
    ["--ranges-fil", "unknown flag --ranges-fil; did you mean --ranges-file?"],
    ["--Stack", "unknown flag --Stack; did you mean --stack?"],
    ["--jsno", "unknown flag --jsno; did you mean --json?"],
    ["--zzzzzzzz", "unknown flag --zzzzzzzz\n" + USAGE],
])("%s: %s", (flag, message) => {
    expect(() => parse(["--stack", "web", flag])).toThrow(message);
});

test("after -- nothing is a flag of ours", () => {
    expect(() => parse(["--stack", "web", "--", "--bogus"])).toThrow("Unexpected argument '--bogus'");
});

test("flags npm kept (npm run plan --stack web, without --) are named with the fix", () => {
    const env = { npm_config_stack: "true", npm_config_ranges_file: "true", npm_lifecycle_event: "plan" };
    expect(flagsTakenByNpm(Object.keys(options), ["web", "x.json"], env)).toEqual(["stack", "ranges-file"]);
    expect(() => parse(["web", "x.json"], env)).toThrow('npm kept --stack, --ranges-file for itself: npm passes flags on only after "--", as in npm run plan -- --stack <name>');
    // --stack=web (no "--"): npm keeps the value too; the tool sees no --stack.
    expect(() => parse([], { npm_config_stack: "web", npm_lifecycle_event: "plan" })).toThrow("npm kept --stack for itself");
    // A flag that did arrive is not reported, whatever npm's environment says.
    expect(flagsTakenByNpm(["stack"], ["--stack", "web"], { npm_config_stack: "true" })).toEqual([]);
});
