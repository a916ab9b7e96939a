/**
 * Loads a stack's config the way Pulumi hands it to a program: project defaults
 * from Pulumi.yaml, then stacks/Pulumi.<stack>.yaml; keys "project:key" (a bare
 * key gets the project prefix), objects and lists as JSON text, scalars as text.
 * Secure (encrypted) values are left out: they need the Pulumi CLI.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, YAMLParseError } from "yaml";
import { projectConfigValues } from "../components/config";

/** The line before and the offending line, numbered, with a caret under the column (an error at the end points past the last line). */
function excerpt(text: string, line: number, col: number): string {
    const lines = text.split(/\r?\n/);
    const numbered = [line - 1, line].filter((n) => n >= 1 && n <= lines.length).map((n) => `${String(n).padStart(5)} | ${lines[n - 1]}`);
    return [...numbered, `${" ".repeat(5)} | ${" ".repeat(Math.max(0, col - 1))}^`].join("\n");
}

/** Parses a YAML file; a syntax error names the file, line and column, and shows the line. */
function parseYamlFile(file: string, root: string): any {
    const text = fs.readFileSync(file, "utf8");
    try {
        return parse(text);
    } catch (e) {
        if (e instanceof YAMLParseError) {
            const pos = e.linePos?.[0];
            // yaml's message ends with its own " at line L, column C:" and a context block; ours shows the line once.
            const reason = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
            const where = pos ? `:${pos.line}:${pos.col}` : "";
            throw new Error(`${path.relative(root, file)}${where}: YAML syntax error: ${reason}${pos ? `\n${excerpt(text, pos.line, pos.col)}` : ""}`);
        }
        throw e;
    }
}

/** The project directory (Pulumi.yaml, stacks/): the scripts run from source and compiled, from dist/scripts. */
export const ROOT = [path.join(__dirname, ".."), path.join(__dirname, "..", "..")].find((d) => fs.existsSync(path.join(d, "Pulumi.yaml")))!;

export interface LoadedStack {
    project: string;
    stack: string;
    config: Record<string, string>;
}

const asConfigText = (v: unknown): string => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

/** Names of the stacks with a file in stacks/. */
export function listStacks(root = ROOT): string[] {
    return fs
        .readdirSync(path.join(root, "stacks"))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** Loads a stack's config; `configFile` reads another file instead, like `pulumi up --config-file`. */
export function loadStackConfig(stack: string, root = ROOT, configFile?: string): LoadedStack {
    const projectFile = parseYamlFile(path.join(root, "Pulumi.yaml"), root);
    const project: string = projectFile.name;
    const file = configFile ?? path.join(root, projectFile.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack "${stack}": ${path.relative(root, file)} does not exist (stacks: ${listStacks(root).join(", ")})`);
    }
    const config: Record<string, string> = {};
    for (const [key, decl] of Object.entries<any>(projectFile.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl) config[`${project}:${key}`] = asConfigText(decl.default);
    }
    const stackFile = parseYamlFile(file, root) ?? {};
    for (const [key, value] of Object.entries<unknown>(stackFile.config ?? {})) {
        if (typeof value === "object" && value !== null && "secure" in value) continue;
        config[key.includes(":") ? key : `${project}:${key}`] = asConfigText(value);
    }
    return { project, stack, config };
}

/** The project's own config of a stack, parsed as the program parses it (key without the project prefix). */
export function projectConfigOf(loaded: LoadedStack): Record<string, unknown> {
    return projectConfigValues(loaded.project, loaded.config);
}
