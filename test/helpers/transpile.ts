/**
 * The tests' processes (CLIs, program fixtures, the bench) run compiled JavaScript,
 * as `npm run plan` does from dist/, not through ts-node (which costs each process
 * about a second of transpiling). Jest's global setup transpiles today's sources
 * into .jest-build/ first (JavaScript only, no type check: that is `npm run
 * typecheck`), skipping files whose output is newer than their source.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { compiled, ROOT } from "./compiled";

/** What the tests' processes run: index.ts, the library, the scripts, the bench and the test programs. */
const SOURCES = ["index.ts", "components", "scripts", "bench", "test/fixtures", "test/helpers", "test/provider-facts"];

function sourcesUnder(rel: string): string[] {
    const full = path.join(ROOT, rel);
    if (!fs.statSync(full).isDirectory()) return [rel];
    return fs.readdirSync(full, { withFileTypes: true }).flatMap((e) => {
        const child = path.join(rel, e.name);
        if (e.isDirectory()) return sourcesUnder(child);
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && !e.name.endsWith(".test.ts") ? [child] : [];
    });
}

/** Transpiles what changed; returns how many files were written. */
export function transpileProject(): number {
    const config = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
    if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false, noEmit: false };
    let written = 0;
    for (const rel of SOURCES.flatMap(sourcesUnder)) {
        const src = path.join(ROOT, rel);
        const out = compiled(rel);
        const outStat = fs.statSync(out, { throwIfNoEntry: false });
        if (outStat && outStat.mtimeMs >= fs.statSync(src).mtimeMs) continue;
        const { outputText, diagnostics } = ts.transpileModule(fs.readFileSync(src, "utf8"), { compilerOptions, fileName: src, reportDiagnostics: true });
        if (diagnostics?.length) throw new Error(`${rel}: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, "\n")}`);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, outputText);
        written++;
    }
    return written;
}
