/**
 * `npm run schema`: infers the plugin's Pulumi package schema (plugin/) exactly as
 * `pulumi package add` does, with the SDK's ComponentProvider.getSchema(), and writes
 * it to plugin/schema.json. test/plugin-schema.test.ts fails when the committed file
 * differs, so every change to the public arguments is reviewed as a schema change.
 */
import * as fs from "fs";
import * as path from "path";

export const PLUGIN_DIR = path.join(__dirname, "..", "plugin");
export const SCHEMA_FILE = path.join(PLUGIN_DIR, "schema.json");

/** The plugin's provider, built as its entry builds it (without starting the host). */
export function pluginProvider() {
    process.env.COF_PLUGIN_NO_HOST = "1";
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ComponentProvider } = require("@pulumi/pulumi/provider/experimental") as typeof import("@pulumi/pulumi/provider/experimental");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const plugin = require(path.join(PLUGIN_DIR, "index")) as typeof import("../plugin/index");
    return new ComponentProvider({ components: plugin.COMPONENTS, name: plugin.PACKAGE_NAME, dirname: PLUGIN_DIR });
}

/** The schema as committed: pretty-printed, with a final newline. */
export function formatSchema(schema: string): string {
    return `${JSON.stringify(JSON.parse(schema), null, 2)}\n`;
}

if (require.main === module) {
    pluginProvider()
        .getSchema()
        .then(
            (schema) => {
                fs.writeFileSync(SCHEMA_FILE, formatSchema(schema));
                console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
            },
            (e: Error) => {
                console.error(`schema inference failed: ${e.message}`);
                process.exitCode = 2;
            },
        );
}
