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

/** Parses a YAML file; a syntax error names the file, line and column. */
function parseYamlFile(file: string, root: string): any {
    try {
        return parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        if (e instanceof YAMLParseError) {
            const pos = e.linePos?.[0];
            throw new Error(`${path.relative(root, file)}${pos ? `:${pos.line}:${pos.col}` : ""}: YAML syntax error: ${e.message.split("\n")[0]}`);
        }
        throw e;
    }
}

export const ROOT = path.join(__dirname, "..");

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

export function loadStackConfig(stack: string, root = ROOT): LoadedStack {
    const projectFile = parseYamlFile(path.join(root, "Pulumi.yaml"), root);
    const project: string = projectFile.name;
    const file = path.join(root, projectFile.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
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
