/**
 * A real HTTP server on 127.0.0.1 (port 0) standing in for Cloudflare's API.
 * Each request is answered by the next scripted reply (the last one repeats).
 */
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";

export const SAMPLE_ANSWER_PATH = path.join(__dirname, "..", "..", "samples", "cloudflare-ips-2026-11.json");
export const sampleAnswer = (): any => JSON.parse(fs.readFileSync(SAMPLE_ANSWER_PATH, "utf8"));

export type Reply =
    | { status?: number; json?: unknown; body?: string | Buffer; headers?: Record<string, string> }
    | "hang";

export interface TestServer {
    url: string;
    /** Request paths (with query) in arrival order. */
    requests: string[];
    close(): Promise<void>;
}

export async function startServer(...replies: Reply[]): Promise<TestServer> {
    const requests: string[] = [];
    const sockets = new Set<import("net").Socket>();
    const server = http.createServer((req, res) => {
        requests.push(req.url ?? "");
        const reply = replies[Math.min(requests.length - 1, replies.length - 1)] ?? { status: 200, json: sampleAnswer() };
        if (reply === "hang") return; // never answer
        const body = reply.json !== undefined ? JSON.stringify(reply.json) : reply.body ?? "";
        res.writeHead(reply.status ?? 200, {
            "content-type": reply.json !== undefined ? "application/json" : "text/html",
            ...reply.headers,
        });
        res.end(body);
    });
    server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/client/v4/ips`,
        requests,
        close: () =>
            new Promise<void>((resolve) => {
                sockets.forEach((s) => s.destroy());
                server.close(() => resolve());
            }),
    };
}

/** The sample answer with its result replaced by `result` fields. */
export function answerWith(result: Record<string, unknown>, top: Record<string, unknown> = {}): unknown {
    const a = sampleAnswer();
    return { ...a, ...top, result: { ...a.result, ...result } };
}
