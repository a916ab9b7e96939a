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
    /** Answers to invokes (data sources) by token; any other invoke echoes its arguments. */
    calls?: Record<string, (inputs: Record<string, any>) => Record<string, any>>;
}

/** What a provider computes that its inputs do not carry: PEM text the TLS provider generates. */
function computedState(type: string, name: string): Record<string, string> {
    const pem = (label: string) => `-----BEGIN ${label}-----\nmock ${name}\n-----END ${label}-----\n`;
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: pem("PRIVATE KEY"), publicKeyPem: pem("PUBLIC KEY") };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: pem("CERTIFICATE REQUEST") };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: pem("CERTIFICATE") };
        default:
            return {};
    }
}

// Registrations refused by the facts check since the mocks were installed; the
// engine reports them as unhandled rejections, which may come after the run ends.
let refused: Error[] = [];

/** Installs the mock runtime; returns the live list of registrations. */
export function installMocks(options: MockOptions = {}): RegisteredResource[] {
    const resources: RegisteredResource[] = [];
    refused = [];
    // Tests name a checker that holds each registration to the real providers' facts.
    const hook = process.env.COF_PROVIDER_FACTS;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the checker is named at run time
    const check: ((type: string, inputs: Record<string, any>) => void) | undefined = hook ? require(hook).onRegistration : undefined;
    void pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                try {
                    check?.(args.type, args.inputs);
                } catch (e) {
                    refused.push(e as Error);
                    throw e;
                }
                resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.name) } };
            },
            call: (args) => options.calls?.[args.token]?.(args.inputs) ?? args.inputs,
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
        if (refused.length > 0) throw refused[0];
        return { resources, outputs: (outputs ?? {}) as Record<string, unknown> };
    } catch (e) {
        throw new MockRunError(e, resources);
    } finally {
        process.off("unhandledRejection", onFailure);
    }
}
