// The one loopback test server: a real HTTP server on 127.0.0.1 (port 0) that
// answers each request with the next scripted reply (the last one repeats), or
// never ("hang"). Plain JavaScript so that it also runs as its own process inside a
// test network namespace (trace-server.js); test/helpers/server.ts types it for tests.
const http = require("http");

/** A body in the format of Cloudflare's trace endpoint, reporting `ip`. */
function traceReply(ip) {
    return { body: `fl=1f1\nh=www.cloudflare.com\nip=${ip}\nts=1795874289.1\nvisit_scheme=https\nuag=node\ncolo=FRA\n`, headers: { "content-type": "text/plain" } };
}

async function startLoopbackServer(replies, options = {}) {
    const requests = [];
    const sockets = new Set();
    const server = http.createServer((req, res) => {
        requests.push(req.url ?? "");
        const reply = replies[Math.min(requests.length - 1, replies.length - 1)] ?? options.fallback ?? { status: 404, body: "" };
        if (reply === "hang") return; // never answer
        const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.body ?? "");
        res.writeHead(reply.status ?? 200, { "content-type": reply.json !== undefined ? "application/json" : "text/html", ...reply.headers });
        res.end(body);
    });
    server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `http://127.0.0.1:${server.address().port}${options.path ?? "/"}`,
        requests,
        close: () =>
            new Promise((resolve) => {
                sockets.forEach((s) => s.destroy());
                server.close(() => resolve());
            }),
    };
}

module.exports = { startLoopbackServer, traceReply };
