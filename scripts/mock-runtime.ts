/**
 * Runs Pulumi code under the SDK's mock runtime (no engine, no provider plugins,
 * no credentials) and records every resource registration with its exact inputs.
 * Used by the offline plan, the benchmark and the tests.
 */
import * as pulumi from "@pulumi/pulumi";

/** One resource registration as the engine would have received it. */
export interface RegisteredResource {
    type: string;
    name: string;
    /** False for component resources. */
    custom: boolean;
    inputs: Record<string, any>;
}

export interface MockOptions {
    project?: string;
    stack?: string;
    /** Stack config as Pulumi hands it to a program: "project:key" -> string (objects as JSON). */
    config?: Record<string, string>;
}

/** Installs the mock runtime; returns the live list of registrations. */
export function installMocks(options: MockOptions = {}): RegisteredResource[] {
    const resources: RegisteredResource[] = [];
    void pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs: args.inputs });
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        options.project ?? "cloudflare-origin-firewall",
        options.stack ?? "test",
        false,
    );
    pulumi.runtime.setAllConfig(options.config ?? {});
    return resources;
}

/** Resolves an Output's value, or rejects with its error (unlike `apply`, which never runs). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as unknown as { promise(): Promise<T> }).promise();
}

/** The result of a program run under mocks. */
export interface MockRun {
    resources: RegisteredResource[];
    /** The program's stack outputs. */
    outputs: Record<string, unknown>;
}

/** A failed run: the first error, and what had been registered by then. */
export class MockRunError extends Error {
    constructor(
        public readonly cause: unknown,
        public readonly resources: RegisteredResource[],
    ) {
        super(cause instanceof Error ? cause.message : String(cause));
        this.name = "MockRunError";
    }
}

/**
 * Runs `program` as the root of a stack under mocks, as `pulumi up` would, and
 * waits for every registration. Rejects with the program's first error — like
 * a real deployment, which stops there and leaves existing resources unchanged.
 * The error is a `MockRunError` carrying the registrations made before it.
 */
export async function runUnderMocks(program: () => unknown, options: MockOptions = {}): Promise<MockRun> {
    const resources = installMocks(options);
    let onFailure: (e: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (onFailure = reject));
    failed.catch(() => undefined);
    process.on("unhandledRejection", onFailure);
    try {
        // A program module may export a (possibly async) function, as Pulumi's runtime allows.
        const run = async () => {
            const exported = program();
            return typeof exported === "function" ? (exported as () => unknown)() : exported;
        };
        const outputs = await Promise.race([pulumi.runtime.runInPulumiStack(run), failed]);
        await Promise.race([pulumi.runtime.disconnect(), failed]);
        return { resources, outputs: (outputs ?? {}) as Record<string, unknown> };
    } catch (e) {
        throw new MockRunError(e, resources);
    } finally {
        process.off("unhandledRejection", onFailure);
    }
}
