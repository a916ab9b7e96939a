// Types of loopback-server.js (the one loopback test server).

/** A scripted reply: status, JSON or raw body, headers; or "hang" (never answer). */
export type Reply = { status?: number; json?: unknown; body?: string | Buffer; headers?: Record<string, string> } | "hang";

export interface TestServer {
    /** http://127.0.0.1:<port><path> */
    url: string;
    /** Request paths (with query) in arrival order. */
    requests: string[];
    close(): Promise<void>;
}

export interface LoopbackOptions {
    /** Path of the printed URL; default "/". Every path is answered alike. */
    path?: string;
    /** The reply when `replies` is empty; default 404. */
    fallback?: Reply;
}

export function startLoopbackServer(replies: readonly Reply[], options?: LoopbackOptions): Promise<TestServer>;

/** A body in the format of Cloudflare's trace endpoint, reporting `ip`. */
export function traceReply(ip: string): Reply;
